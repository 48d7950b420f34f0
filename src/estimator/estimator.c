/* The estimator step: a replicate's fit by its estimator (moeestimator.h). */
#include <moe/private/estimatorimpl.h>

void MoeEstimatorFitParams(MoeEstimator est, const MoeSpec *spec, MoeFitParams *fp)
{
  MoeSpecFitParams(spec, fp);
  fp->tao_prefix = est->family->tao_prefix;
}

/* The estimator's own fit, or the certified multi-start fit with its solver. */
PetscErrorCode MoeEstimatorFit(MoeEstimator est, const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res, MoeCertificate *cert)
{
  MoeFitParams fp;

  PetscFunctionBegin;
  if (est->ops.fit) {
    PetscCall((*est->ops.fit)(est, spec, m, truth, gbar, D, n, replicate, restart, inject_nan, theta0, theta, res, cert));
    PetscFunctionReturn(0);
  }
  MoeEstimatorFitParams(est, spec, &fp);
  PetscCall(MoeCertifiedFit(&est->solver, &fp, spec, m, truth, gbar, D, n, replicate, restart, inject_nan, theta0, theta, res, cert));
  PetscFunctionReturn(0);
}
