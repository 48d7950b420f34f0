/* The em estimator: the Gaussian MoE's maximum-likelihood estimator computed by EM (src/fit/em.c)
   instead of by TAO on the likelihood directly (mle); starts, further starts and the certificate
   against the truth's likelihood on the same data are the same as mle's (MoeCertifiedFitWith). */
#include <moeestimator.h>

static PetscErrorCode EMFit(const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res, MoeCertificate *cert)
{
  extern const MoeEstimatorFamily MoeEstimatorFamily_EM;
  MoeFitParams fp;

  PetscFunctionBegin;
  MoeSpecFitParams(spec, &fp);
  fp.em                   = PETSC_TRUE;
  fp.certificate_suffices = MoeEstimatorFamily_EM.certificate_suffices;
  PetscCall(MoeCertifiedFitWith(&fp, spec, m, truth, gbar, D, n, replicate, restart, inject_nan, theta0, theta, res, cert));
  PetscFunctionReturn(0);
}

/* An EM iteration costs a few likelihood passes plus the gating's inner solve: about 20 gradients. */
static PetscReal EMCost(const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * 20 * 100 * spec->init_starts;
}

static const MoeFamilyOption options[] = {
  {"-em_max_it", MOE_OPTION_INT, "2000", "EM: iterations at most (per annealing stage of a top-K gating); the gating M-step's TAO takes options with the prefix -em_gating_"},
  {NULL, MOE_OPTION_INT, NULL, NULL}
};

const MoeEstimatorFamily MoeEstimatorFamily_EM = {"em", EMFit, EMCost, PETSC_TRUE, PETSC_TRUE, MOE_MODEL_GAUSSIAN, "log-likelihood: the fit minimises -(1/n) sum_r log p(Y_r | X_r), by EM", options, "maximum likelihood for the Gaussian MoE by EM (closed-form experts and sigmas, the gating M-step by TAO), certified as mle"};
