/* The em estimator: the Gaussian MoE's maximum-likelihood estimator computed by EM (src/fit/em.c)
   instead of by TAO on the likelihood directly (mle); starts, further starts and the certificate
   against the truth's likelihood on the same data are mle's.  Its gating M-step's TAO takes the
   options prefix -em_gating_. */
#include <moe/private/estimatorimpl.h>

#define EM_MAX_IT 2000 /* -em_max_it default */

typedef struct {
  PetscInt max_it; /* iterations at most, per annealing stage of a top-K gating */
} EM;

static PetscErrorCode SolveEM(const void *ctx, const MoeFitParams *fpin, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  MoeFitParams fp = *fpin;

  PetscFunctionBegin;
  fp.em_max_it = ((const EM *)ctx)->max_it;
  PetscCall(MoeFitAnnealed(MoeFitEM, &fp, m, D, theta0, inject_nan, theta, res));
  PetscFunctionReturn(0);
}

/* An EM iteration costs a few likelihood passes plus the gating's inner solve: about 20 gradients. */
static PetscReal EMCost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * 20 * 100 * spec->init_starts;
}

/* Only a setting off its default is part of the spec's text: earlier spec hashes stay. */
static PetscErrorCode EMView(MoeEstimator est, char *buf, size_t len)
{
  const EM *em = (const EM *)est->data;
  char      line[64];

  PetscFunctionBegin;
  if (em->max_it == EM_MAX_IT) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(line, sizeof(line), "-em_max_it %" PetscInt_FMT "\n", em->max_it));
  PetscCall(PetscStrlcat(buf, line, len));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeEstimatorCreate_EM(MoeEstimator est)
{
  EM *em;

  PetscFunctionBegin;
  PetscCall(PetscNew(&em));
  em->max_it = EM_MAX_IT;
  PetscCall(PetscOptionsGetInt(est->opts, NULL, "-em_max_it", &em->max_it, NULL));
  MoeUserCheck(em->max_it >= 1, "-em_max_it %" PetscInt_FMT " must be at least 1", em->max_it);
  est->data        = em;
  est->solver      = (MoeSolver){SolveEM, MoeFitNegLogLikelihood, em, PETSC_TRUE};
  est->ops.cost    = EMCost;
  est->ops.view    = EMView;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-em_max_it", MOE_OPTION_INT, "2000", "EM: iterations at most (per annealing stage of a top-K gating); the gating M-step's TAO takes options with the prefix -em_gating_", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeEstimatorFamily MoeEstimatorFamily_EM = {"em", MoeEstimatorCreate_EM, PETSC_TRUE, PETSC_TRUE, MOE_MODEL_MASK(MOE_MODEL_GAUSSIAN), "log-likelihood: the fit minimises -(1/n) sum_r log p(Y_r | X_r), by EM", "em_gating_", options, "maximum likelihood for the Gaussian MoE by EM (closed-form experts and sigmas, the gating M-step by TAO), certified as mle", PETSC_FALSE /* its responsibilities and closed-form M-step are per row on one rank */};
