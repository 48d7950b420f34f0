/* The mle estimator: maximum likelihood for the Gaussian MoE, TAO's bounded quasi-Newton method on the
   analytic score (src/fit/mle.c, options -mle_tao_...), annealed through a top-K selection, and
   certified against the truth's likelihood on the same data. */
#include <moe/private/estimatorimpl.h>

typedef struct {
  PetscBool floor;  /* -mle_sigma_floor */
  PetscBool anneal; /* -mle_anneal */
  PetscReal ftol;   /* -mle_ftol: the decrease test's threshold in certificate units (0: off) */
  PetscInt  window; /* -mle_ftol_window: ... over this many iterations */
} MLE;

static PetscErrorCode SolveMLE(const void *ctx, const MoeFitParams *fpin, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  MoeFitParams fp = *fpin;

  PetscFunctionBegin;
  fp.hard_only      = !((const MLE *)ctx)->anneal;
  fp.decrease_units  = ((const MLE *)ctx)->ftol;
  fp.decrease_window = ((const MLE *)ctx)->window;
  PetscCall(MoeFitMLE(&fp, m, D, theta0, inject_nan, theta, res));
  PetscFunctionReturn(0);
}

/* -mle_sigma_floor: the likelihood is unbounded (a sigma_i -> 0 on a few points), and the theory's
   estimator is the maximum over a compact parameter space.  Its sigma bound is the certificate's
   degenerate-fit floor, so the fit searches exactly the points a certificate may accept. */
static PetscErrorCode MLEFitCompact(MoeEstimator est, const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res, MoeCertificate *cert)
{
  MoeFitParams fp;
  PetscReal    floor;

  PetscFunctionBegin;
  MoeEstimatorFitParams(est, spec, &fp);
  PetscCall(MoeCertifySigmaFloor(m, truth, gbar, &floor));
  PetscCall(MoeModelSetSigmaLowerBound(m, floor));
  PetscCall(MoeCertifiedFit(&est->solver, &fp, spec, m, truth, gbar, D, n, replicate, restart, inject_nan, theta0, theta, res, cert));
  PetscCall(MoeModelSetSigmaLowerBound(m, MOE_SIGMA_MIN));
  PetscFunctionReturn(0);
}

/* One quasi-Newton iteration costs about n pfree (a gradient); a few hundred of them. */
static PetscReal MLECost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (PetscReal)n * pfree * 100 * spec->init_starts;
}

/* Written only when off their defaults, so that the specs without them keep their hash. */
static PetscErrorCode MLEView(MoeEstimator est, char *buf, size_t len)
{
  const MLE *mle = (const MLE *)est->data;
  char       line[64];

  PetscFunctionBegin;
  if (mle->floor) PetscCall(PetscStrlcat(buf, "-mle_sigma_floor true\n", len));
  if (!mle->anneal) PetscCall(PetscStrlcat(buf, "-mle_anneal false\n", len));
  if (mle->ftol > 0) {
    PetscCall(PetscSNPrintf(line, sizeof(line), "-mle_ftol %.17g\n-mle_ftol_window %" PetscInt_FMT "\n", (double)mle->ftol, mle->window));
    PetscCall(PetscStrlcat(buf, line, len));
  }
  PetscFunctionReturn(0);
}

/* -mle_anneal false changes nothing where no hard selection is annealed (MoeFitAnnealed): a gating
   without one, or a top-K gating fitted at a fixed soft temperature. */
static PetscErrorCode MLEInert(MoeEstimator est, MoeModel m, const char **option, const char **applies)
{
  const MLE *mle = (const MLE *)est->data;
  PetscBool  has;
  PetscReal  T;

  PetscFunctionBegin;
  PetscCall(MoeModelGetSelectionTemperature(m, &has, &T));
  if (!mle->anneal && (!has || T > 0)) {
    *option  = "-mle_anneal false";
    *applies = "a top-K gating fitted with its hard selection (-topk_temperature 0)";
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeEstimatorCreate_MLE(MoeEstimator est)
{
  MLE *mle;

  PetscFunctionBegin;
  PetscCall(PetscNew(&mle));
  mle->anneal = PETSC_TRUE;
  mle->window = 20;
  PetscCall(PetscOptionsGetBool(est->opts, NULL, "-mle_sigma_floor", &mle->floor, NULL));
  PetscCall(PetscOptionsGetBool(est->opts, NULL, "-mle_anneal", &mle->anneal, NULL));
  PetscCall(PetscOptionsGetReal(est->opts, NULL, "-mle_ftol", &mle->ftol, NULL));
  PetscCall(PetscOptionsGetInt(est->opts, NULL, "-mle_ftol_window", &mle->window, NULL));
  MoeUserCheck(mle->ftol >= 0 && PetscIsNormalReal(mle->ftol + 1), "-mle_ftol %g must be a finite number of certificate units >= 0 (0: off; e.g. 1e-7)", (double)mle->ftol);
  MoeUserCheck(mle->window >= 1, "-mle_ftol_window %" PetscInt_FMT " must be at least 1 iteration (default 20)", mle->window);
  est->data     = mle;
  est->solver   = (MoeSolver){SolveMLE, MoeFitNegLogLikelihood, mle, PETSC_TRUE};
  est->ops.fit  = mle->floor ? MLEFitCompact : NULL;
  est->ops.cost = MLECost;
  est->ops.view = MLEView;
  est->ops.inert = MLEInert;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-mle_sigma_floor", MOE_OPTION_BOOL, "0", "mle: maximise over a compact parameter space, every sigma_i at least the certificate's floor (a tenth of the truth's smallest sigma), as the theory assumes (default: sigma_i > 1e-6, where a degenerate spike of the unbounded likelihood can win)", NULL},
  {"-mle_ftol", MOE_OPTION_REAL, "0", "mle: stop (CONVERGED_FTOL) when 2n times the gain in mean log-likelihood over the last -mle_ftol_window iterations is below this many certificate units, the limit of double precision in a flat valley (0: off, TAO's gradient test and the 2000-iteration cap only; 1e-7 in the DeepSeekMoE specs, docs/results/mle_ftol.md: quasi-Newton plateaus make larger values stop units short)", NULL},
  {"-mle_ftol_window", MOE_OPTION_INT, "20", "mle: iterations of the -mle_ftol test", NULL},
  {"-mle_anneal", MOE_OPTION_BOOL, "1", "mle with a top-K gating: anneal the selection from temperature 1 to the hard one, so that the fit can change which atoms a point selects (false: fit the hard selection from the start as it is, for a start that already selects the truth's atoms, where the soft stages only open a path away)", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeEstimatorFamily MoeEstimatorFamily_MLE = {"mle", MoeEstimatorCreate_MLE, PETSC_TRUE, PETSC_TRUE, MOE_MODEL_MASK(MOE_MODEL_GAUSSIAN) | MOE_MODEL_MASK(MOE_MODEL_CONTAMINATED), "log-likelihood: the fit minimises -(1/n) sum_r log p(Y_r | X_r)", "mle_", options, "maximum likelihood for the Gaussian and the contaminated MoE (TAO bqnls with the analytic score, certified: its likelihood at least the truth's on the same data, up to -certify_tol/(2n))", PETSC_TRUE};
