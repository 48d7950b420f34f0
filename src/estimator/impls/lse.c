/* The lse estimator: the least-squares estimator argmin (1/2n) sum_r (Y_r - f(X_r))^2 the theory is
   about, computed by TAO (src/fit/fit.c: moerate's trust-region Gauss-Newton unless -tao_type says
   otherwise) and certified against the truth's (or G-bar's) objective on the same data. */
#include <moe/private/estimatorimpl.h>

/* One Gauss-Newton iteration costs about n pfree^2 (the Hessian); -init_starts starts. */
static PetscReal LSECost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * pfree * spec->init_starts;
}

static PetscErrorCode MoeEstimatorCreate_LSE(MoeEstimator est)
{
  PetscFunctionBegin;
  est->solver   = MoeSolverLeastSquares;
  est->ops.cost = LSECost;
  PetscFunctionReturn(0);
}

const MoeEstimatorFamily MoeEstimatorFamily_LSE = {"lse", MoeEstimatorCreate_LSE, PETSC_TRUE, PETSC_FALSE, MOE_MODEL_MASK(MOE_MODEL_REGRESSION), "least squares (1/2n) sum_r (Y_r - f(X_r))^2", NULL, NULL, "the least-squares estimator (TAO, certified against the truth's or G-bar's objective on the same data)", PETSC_TRUE};
