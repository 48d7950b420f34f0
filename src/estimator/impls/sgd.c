/* The sgd estimator: P1's minibatch SGD (src/fit/sgd.c) from the near start 0 of the replicate (of its
   restart family), the start the least-squares estimator begins with.  Its certificate against the
   reference objective is recorded, never repaired: SGD is not the estimator the theory is about, and how
   far it stops from it is what a comparison with lse on the same data shows. */
#include <moe/private/estimatorimpl.h>

static PetscErrorCode SGDFit(MoeEstimator est, const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res, MoeCertificate *cert)
{
  MoeInitParams ip;
  MoeSGDParams  sp = *(const MoeSGDParams *)est->data;
  MoeTruth      near;
  PetscReal     fref;

  PetscFunctionBegin;
  MoeSpecInitParams(spec, &ip);
  ip.first = restart * spec->certify_starts;
  sp.seed  = spec->seed;
  PetscCall(MoeNearTarget(m, truth, gbar, &near));
  PetscCall(MoeInitialPoint(&ip, m, &near, MOE_STREAM_INIT, n, replicate, 0, theta0));
  PetscCall(MoeFitSGD(&sp, m, D, theta0, n, replicate, inject_nan, theta, res));
  res->start = 0;
  PetscCall(MoeCertifyReferenceObjective(&est->solver, m, truth, gbar, D, &fref));
  MoeCertifyAssess(spec, m, (PetscInt)MoeDataSize(D), res, fref, cert);
  cert->starts_used = 1;
  PetscFunctionReturn(0);
}

/* An epoch costs about n pfree (one Jacobian row per point). */
static PetscReal SGDCost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * ((const MoeSGDParams *)est->data)->epochs;
}

static PetscErrorCode SGDView(MoeEstimator est, char *buf, size_t len)
{
  const MoeSGDParams *sp = (const MoeSGDParams *)est->data;
  char                lines[160];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(lines, sizeof(lines), "-sgd_epochs %" PetscInt_FMT "\n-sgd_lr %.17g\n-sgd_batch %" PetscInt_FMT "\n", sp->epochs, (double)sp->lr, sp->batch));
  PetscCall(PetscStrlcat(buf, lines, len));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeEstimatorCreate_SGD(MoeEstimator est)
{
  MoeSGDParams *sp;

  PetscFunctionBegin;
  PetscCall(PetscNew(&sp));
  *sp = (MoeSGDParams){10, 32, 0.1, 0};
  PetscCall(PetscOptionsGetInt(est->opts, NULL, "-sgd_epochs", &sp->epochs, NULL));
  PetscCall(PetscOptionsGetReal(est->opts, NULL, "-sgd_lr", &sp->lr, NULL));
  PetscCall(PetscOptionsGetInt(est->opts, NULL, "-sgd_batch", &sp->batch, NULL));
  MoeUserCheck(sp->epochs >= 1, "-sgd_epochs %" PetscInt_FMT " must be at least 1", sp->epochs);
  MoeUserCheck(sp->lr > 0 && PetscIsNormalReal(sp->lr), "-sgd_lr %g must be a finite learning rate > 0", (double)sp->lr);
  MoeUserCheck(sp->batch >= 1, "-sgd_batch %" PetscInt_FMT " must be at least 1", sp->batch);
  est->data        = sp;
  est->solver      = MoeSolverLeastSquares; /* its objective is the one its certificate compares */
  est->ops.fit     = SGDFit;
  est->ops.cost    = SGDCost;
  est->ops.view    = SGDView;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-sgd_epochs", MOE_OPTION_INT, "10", "SGD: passes over the data (P1: 10)", NULL},
  {"-sgd_lr", MOE_OPTION_REAL, "0.1", "SGD: learning rate (P1: 0.1)", NULL},
  {"-sgd_batch", MOE_OPTION_INT, "32", "SGD: rows per minibatch (P1 does not say; 32 is moerate's choice)", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeEstimatorFamily MoeEstimatorFamily_SGD = {"sgd", MoeEstimatorCreate_SGD, PETSC_FALSE, PETSC_FALSE, MOE_MODEL_MASK(MOE_MODEL_REGRESSION), "least squares (1/2n) sum_r (Y_r - f(X_r))^2, by minibatch SGD", NULL, options, "P1's minibatch SGD from the near start (-sgd_epochs, -sgd_lr, -sgd_batch)", PETSC_FALSE /* minibatches of shuffled rows: one rank */};
