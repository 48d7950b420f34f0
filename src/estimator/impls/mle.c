/* The mle estimator: maximum likelihood for the Gaussian MoE, TAO's bounded quasi-Newton method on the
   analytic score (src/fit/mle.c, options -mle_tao_...), annealed through a top-K selection, and
   certified against the truth's likelihood on the same data. */
#include <moe/private/estimatorimpl.h>

static PetscErrorCode SolveMLE(const void *ctx, const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscFunctionBegin;
  PetscCall(MoeFitMLE(fp, m, D, theta0, inject_nan, theta, res));
  PetscFunctionReturn(0);
}

/* One quasi-Newton iteration costs about n pfree (a gradient); a few hundred of them. */
static PetscReal MLECost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * 100 * spec->init_starts;
}

static PetscErrorCode MoeEstimatorCreate_MLE(MoeEstimator est)
{
  PetscFunctionBegin;
  est->solver   = (MoeSolver){SolveMLE, MoeFitNegLogLikelihood, NULL, PETSC_TRUE};
  est->ops.cost = MLECost;
  PetscFunctionReturn(0);
}

const MoeEstimatorFamily MoeEstimatorFamily_MLE = {"mle", MoeEstimatorCreate_MLE, PETSC_TRUE, PETSC_TRUE, MOE_MODEL_MASK(MOE_MODEL_GAUSSIAN) | MOE_MODEL_MASK(MOE_MODEL_CONTAMINATED), "log-likelihood: the fit minimises -(1/n) sum_r log p(Y_r | X_r)", "mle_", NULL, "maximum likelihood for the Gaussian and the contaminated MoE (TAO bqnls with the analytic score, certified: its likelihood at least the truth's on the same data, up to -certify_tol/(2n))", PETSC_TRUE};
