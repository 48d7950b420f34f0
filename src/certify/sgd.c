/* The sgd estimator: P1's minibatch SGD (src/fit/sgd.c) from the near start 0 of the replicate,
   the same start the least-squares estimator begins with.  Its certificate against the
   reference objective is recorded, never repaired: SGD is not the estimator the theory is about,
   and how far it stops from it is what a comparison with lse on the same data shows. */
#include <moeestimator.h>

static PetscErrorCode SGDFit(const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res, MoeCertificate *cert)
{
  MoeInitParams ip;
  MoeSGDParams  sp;
  MoeTruth      near;
  PetscReal     fref;

  PetscFunctionBegin;
  MoeSpecInitParams(spec, &ip);
  MoeSpecSGDParams(spec, &sp);
  ip.first = restart * spec->certify_starts;
  PetscCall(MoeNearTarget(m, truth, gbar, &near));
  PetscCall(MoeInitialPoint(&ip, m, &near, MOE_STREAM_INIT, n, replicate, 0, theta0));
  PetscCall(MoeFitSGD(&sp, m, D, theta0, n, replicate, inject_nan, theta, res));
  res->start = 0;
  PetscCall(MoeCertifyReferenceObjective(m, truth, gbar, D, &fref));
  MoeCertifyAssess(spec, m, D->n, res, fref, cert);
  cert->starts_used = 1;
  PetscFunctionReturn(0);
}

/* An epoch costs about n pfree (one Jacobian row per point). */
static PetscReal SGDCost(const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * spec->sgd_epochs;
}

static const MoeFamilyOption options[] = {
  {"-sgd_epochs", MOE_OPTION_INT, "10", "SGD: passes over the data (P1: 10)"},
  {"-sgd_lr", MOE_OPTION_REAL, "0.1", "SGD: learning rate (P1: 0.1)"},
  {"-sgd_batch", MOE_OPTION_INT, "32", "SGD: rows per minibatch (P1 does not say; 32 is moerate's choice)"},
  {NULL, MOE_OPTION_INT, NULL, NULL}
};

const MoeEstimatorFamily MoeEstimatorFamily_SGD = {"sgd", SGDFit, SGDCost, PETSC_FALSE, PETSC_FALSE, MOE_MODEL_REGRESSION, "least squares (1/2n) sum_r (Y_r - f(X_r))^2, by minibatch SGD", options, "P1's minibatch SGD from the near start (-sgd_epochs, -sgd_lr, -sgd_batch)"};
