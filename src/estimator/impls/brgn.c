/* The brgn estimator: the least-squares estimator of lse computed by TAO's own Gauss-Newton method
   (TAOBRGN with Levenberg-Marquardt regularisation on the stored n x p Jacobian; its options take the
   prefix -brgn_, e.g. -brgn_tao_max_it), certified the same way.  Fitted beside lse on the same data
   (-estimator lse,brgn) it says whether a rate depends on the solver that computed the estimator:
   both must reach a certified fit.  The stored Jacobian costs n p 8 bytes. */
#include <moe/private/estimatorimpl.h>

/* An iteration forms J (n pfree) and solves with J^T J (n pfree^2). */
static PetscReal BRGNCost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * (pfree + 1) * spec->init_starts;
}

static PetscErrorCode MoeEstimatorCreate_BRGN(MoeEstimator est)
{
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsHasName(est->opts, NULL, "-brgn_tao_type", &set));
  if (!set) PetscCall(PetscOptionsSetValue(est->opts, "-brgn_tao_type", "brgn"));
  est->solver   = MoeSolverLeastSquares; /* MoeFitSolve with this estimator's options prefix */
  est->ops.cost = BRGNCost;
  PetscFunctionReturn(0);
}

const MoeEstimatorFamily MoeEstimatorFamily_BRGN = {"brgn", MoeEstimatorCreate_BRGN, PETSC_TRUE, PETSC_FALSE, MOE_MODEL_MASK(MOE_MODEL_REGRESSION), "least squares (1/2n) sum_r (Y_r - f(X_r))^2, by TAO's Gauss-Newton (TAOBRGN)", "brgn_", NULL, "the least-squares estimator computed by TAO's own Gauss-Newton method (TAOBRGN, options -brgn_tao_...), certified as lse", PETSC_FALSE /* TAOBRGN takes every residual in one vector */};
