/* The spec's checks, once every section is read: one line naming the option and the fix for a bad value,
   then the defaults that depend on other settings. */
#include <moe/private/specimpl.h>
#include <unistd.h>

/* Every real option finite first (NaN passes every comparison below). */
static PetscErrorCode CheckFinite(MoeSpec *s)
{
  PetscFunctionBegin;
  {
    const struct {
      const char *name;
      PetscReal   value;
    } reals[] = {
      {"-x_lo", s->xlo}, {"-x_hi", s->xhi}, {"-x_sd", s->xsd}, {"-noise", s->noise}, {"-truth_beta0_var", s->truth_beta0_var}, {"-truth_beta1_var", s->truth_beta1_var}, {"-truth_expert_var", s->truth_expert_var}, {"-truth_sigma", s->truth_sigma}, {"-init_perturb", s->init_perturb}, {"-init_scale", s->init_scale}, {"-loss_r", s->loss_r}, {"-fit_ftol", s->ftol}, {"-fit_max_norm", s->max_norm}, {"-fit_lm_lambda", s->lm_lambda}, {"-fit_lm_down", s->lm_down}, {"-fit_lm_up", s->lm_up}, {"-truth_max_sd", s->truth_max_sd}, {"-truth_active_min", s->truth_active_min}, {"-certify_tol", s->certify_tol}, {"-fit_max_gradient_z", s->max_gradient_z},
    };
    for (size_t r = 0; r < sizeof(reals) / sizeof(reals[0]); r++) MoeUserCheck(PetscIsNormalReal(reals[r].value) || reals[r].value == 0, "%s %g is not a finite number: give a finite value", reals[r].name, (double)reals[r].value);
    MoeUserCheck(PetscAbsReal(s->xlo) < 1e100 && PetscAbsReal(s->xhi) < 1e100 && s->xsd < 1e100, "-x_lo, -x_hi, -x_sd must be below 1e100 in magnitude: the inputs must be representable");
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckSentinels(MoeSpec *s)
{
  PetscFunctionBegin;
  { /* options whose default is a negative sentinel: a negative value given by the user is an error, not the default */
    const struct {
      const char *name;
      PetscReal   value;
    } given[] = {
      {"-init_perturb", s->init_perturb}, {"-init_scale", s->init_scale}, {"-truth_beta0_var", s->truth_beta0_var}, {"-truth_beta1_var", s->truth_beta1_var}, {"-truth_expert_var", s->truth_expert_var}, {"-truth_seed", (PetscReal)s->truth_seed}, {"-reference_n", (PetscReal)s->reference_n},
    };
    for (size_t r = 0; r < sizeof(given) / sizeof(given[0]); r++) {
      PetscBool set;
      PetscCall(PetscOptionsHasName(s->opts, NULL, given[r].name, &set));
      MoeUserCheck(!set || given[r].value >= 0, "%s %g is negative: give a value >= 0, or leave it out for the default", given[r].name, (double)given[r].value);
    }
    MoeUserCheck(s->ftol == -1 || s->ftol >= 0, "-fit_ftol %g: give -1 (0.01/n, the default) or a value >= 0", (double)s->ftol);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckDataAndFit(MoeSpec *s, MoeSpecReadFlags *f)
{
  PetscBool set;

  PetscFunctionBegin;
  PetscCall(PetscEnumFind(MoeInputDists, f->dist, (PetscEnum *)&s->xdist, &set));
  MoeUserCheck(set, "-x_dist '%s' is not an input distribution: use uniform or gaussian", f->dist);
  PetscCall(PetscEnumFind(MoeDataStreamsNames, f->streams, (PetscEnum *)&s->streams, &set));
  MoeUserCheck(set, "-data_streams '%s' is not a way to cut the random streams: use blocks or rows", f->streams);
  PetscCall(PetscEnumFind(MoeInitTypes, f->init, (PetscEnum *)&s->init, &set));
  MoeUserCheck(set, "-init '%s' is not an initialisation policy: use near or random", f->init);
  MoeUserCheck(s->d >= 1 && s->d <= 1024, "-d %" PetscInt_FMT " is outside 1..1024", s->d);
  MoeUserCheck(s->kstar >= 1, "-kstar %" PetscInt_FMT " is not a positive number of true atoms", s->kstar);
  MoeUserCheck(s->k >= s->kstar, "-k %" PetscInt_FMT " is smaller than -kstar %" PetscInt_FMT ": the fit needs at least as many atoms as the truth (k >= k*)", s->k, s->kstar);
  MoeUserCheck(s->noise >= 0 && PetscIsNormalReal(s->noise + 1), "-noise %g is not a variance >= 0", (double)s->noise);
  MoeUserCheck(s->xdist != MOE_X_UNIFORM || s->xlo < s->xhi, "-x_lo %g is not below -x_hi %g", (double)s->xlo, (double)s->xhi);
  MoeUserCheck(s->xsd > 0, "-x_sd %g is not a positive standard deviation", (double)s->xsd);
  MoeUserCheck(s->replicates >= 1, "-replicates %" PetscInt_FMT " must be at least 1", s->replicates);
  MoeUserCheck(s->init_starts >= 1, "-init_starts %" PetscInt_FMT " must be at least 1", s->init_starts);
  MoeUserCheck(s->eval_n >= 1, "-eval_n %" PetscInt_FMT " must be at least 1", s->eval_n);
  MoeUserCheck(s->ftol >= -1 && s->ftol_window >= 1, "-fit_ftol must be >= 0 (or -1: 0.01/n) and -fit_ftol_window >= 1");
  MoeUserCheck(s->max_norm >= 0, "-fit_max_norm %g must be >= 0 (0: no limit)", (double)s->max_norm);
  MoeUserCheck(s->block >= 1, "-fit_block %" PetscInt_FMT " must be at least 1", s->block);
  MoeUserCheck(s->hessian_reuse >= 1, "-fit_hessian_reuse %" PetscInt_FMT " must be >= 1 (1: a fresh Hessian at every iteration)", s->hessian_reuse);
  MoeUserCheck(s->hessian_rows >= 0, "-fit_hessian_rows %" PetscInt_FMT " must be 0 (all rows) or a number of rows", s->hessian_rows);
  MoeUserCheck(s->lm_lambda >= 0 && s->lm_down > 0 && s->lm_up > 0, "-fit_lm_lambda must be >= 0 and -fit_lm_down, -fit_lm_up > 0");
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckTruthAndCertify(MoeSpec *s, PetscBool run)
{
  PetscInt regime;

  PetscFunctionBegin;
  MoeUserCheck(s->truth_max_sd > 0, "-truth_max_sd %g must be > 0", (double)s->truth_max_sd);
  MoeUserCheck(s->truth_active_min >= 0 && s->truth_active_min < 0.5, "-truth_active_min %g is outside [0, 0.5)", (double)s->truth_active_min);
  MoeUserCheck(s->truth_max_draws >= 1, "-truth_max_draws %" PetscInt_FMT " must be at least 1", s->truth_max_draws);
  MoeUserCheck(!s->truth_draw_set || s->truth_draw >= 0, "-truth_draw %" PetscInt_FMT " must be >= 0", s->truth_draw);
  MoeUserCheck(s->max_gradient_z > 0, "-fit_max_gradient_z %g must be > 0", (double)s->max_gradient_z);
  MoeUserCheck(s->certify_tol >= 0, "-certify_tol %g must be >= 0 (units of noise/(2n))", (double)s->certify_tol);
  MoeUserCheck(s->certify_starts >= 1, "-certify_starts %" PetscInt_FMT " must be at least 1", s->certify_starts);
  MoeUserCheck(s->stability_replicates >= 0 && s->stability_replicates <= s->replicates, "-stability_replicates %" PetscInt_FMT " is outside 0..-replicates (%" PetscInt_FMT ")", s->stability_replicates, s->replicates);
  MoeUserCheck(s->stability_starts >= 1 && s->stability_starts <= 64, "-stability_starts %" PetscInt_FMT " is outside 1..64", s->stability_starts);
  if (!run) s->stability_replicates = 0;
  MoeUserCheck(s->loss_r >= 1, "-loss_r %g must be >= 1", (double)s->loss_r);
  regime = s->truth_regime;
  MoeUserCheck(regime == 1 || regime == 2, "-truth_regime %" PetscInt_FMT " is not 1 or 2", regime);
  MoeUserCheck(s->truth_beta1_zero >= 0 && s->truth_beta1_zero <= s->kstar, "-truth_beta1_zero %" PetscInt_FMT " is outside 0..k*", s->truth_beta1_zero);
  PetscFunctionReturn(0);
}

/* Defaults that depend on other settings (d, the sample sizes, the seed). */
static void ResolveDefaults(MoeSpec *s)
{
  PetscInt i;

  if (s->truth_seed < 0) s->truth_seed = s->seed;
  for (i = 0; i < MOE_MAX_LIST; i++) s->truth_draws[i] = PetscMax(s->truth_draw, 0);
  if (s->truth_beta0_var < 0) s->truth_beta0_var = 0.01 / s->d;
  if (s->truth_beta1_var < 0) s->truth_beta1_var = 4;
  if (s->truth_expert_var < 0) s->truth_expert_var = 4;
  if (s->init_perturb < 0) s->init_perturb = 0.1 / PetscSqrtReal((PetscReal)s->d);
  if (s->init_scale < 0) s->init_scale = 1.0 / PetscSqrtReal((PetscReal)s->d);
  /* in 64 bits, capped at the largest PetscInt: 10 x a largest n past 2^31/10 wrapped (found by
     tests/fuzz/fuzz_spec_options); the memory check then refuses such a reference sample */
  if (s->reference_n < 0) s->reference_n = (PetscInt)PetscMin(PetscMax(10 * (PetscInt64)s->ns[s->nn - 1], 10000), (PetscInt64)PETSC_MAX_INT);
}

/* For each estimator j: inert[j] names a setting that changed none of the fitted models met so far
   (acting on applies[j]); NULL once every setting of j has changed one. */
static PetscErrorCode NoteInertSettings(MoeSpec *s, MoeModel m, PetscBool first, const char **inert, const char **applies)
{
  PetscFunctionBegin;
  for (PetscInt j = 0; j < s->nestimators; j++) {
    const char *o, *a;
    PetscCall(MoeEstimatorInertSetting(s->estimator[j], m, &o, &a));
    if (first || (inert[j] && o)) {
      inert[j]   = o;
      applies[j] = a;
    } else inert[j] = NULL;
  }
  PetscFunctionReturn(0);
}

/* Every family can be built with these settings (checks K, tau, groups, truth file), the smallest sample
   has more points than any fitted model has free parameters, every estimator's settings change some
   fit, and every loss applies to some fit. */
static PetscErrorCode CheckFamilies(MoeSpec *s)
{
  PetscInt    i;
  const char *inert[MOE_MAX_LIST] = {NULL}, *applies[MOE_MAX_LIST] = {NULL};

  PetscFunctionBegin;
  for (i = 0; i < s->ngatings; i++) {
    for (PetscInt e = 0; e < s->nexperts; e++) {
      MoeModel m;
      PetscInt pfree;
      PetscCall(MoeModelCreate(s->gatings[i], s->experts[e], s->k, s->d, s->opts, NULL, &m));
      pfree = m->pfree;
      PetscCall(NoteInertSettings(s, m, (PetscBool)(i == 0 && e == 0), inert, applies));
      PetscCall(MoeModelDestroy(&m)); /* before a usage error, which returns at once */
      MoeUserCheck(s->ns[0] > pfree, "-n %" PetscInt_FMT " is not larger than the %" PetscInt_FMT " free parameters of the %s x %s fit: the least-squares estimate is not determined; give larger sample sizes", s->ns[0], pfree, s->gatings[i], s->experts[e]);
    }
  }
  for (i = 0; i < s->nestimators; i++) MoeUserCheck(!inert[i], "%s changes none of the fitted models (it acts on %s): drop it or fit such a model", inert[i], applies[i]);
  for (i = 0; i < s->nlosses; i++) { /* a loss that applies to none of the fitted gatings measures nothing */
    PetscBool any = PETSC_FALSE;
    char      which[256] = "";
    for (PetscInt g = 0; g < s->ngatings; g++) any = (PetscBool)(any || MoeSpecLossApplies(s, i, g));
    if (any) continue;
    PetscCall(MoeLossGatingFamilies(s->losses[i], which, sizeof(which)));
    MoeUserError("-losses: %s applies to none of the fitted gatings (%s applies to %s): drop it or fit such a gating", s->losses[i], s->losses[i], which);
  }
  PetscFunctionReturn(0);
}

static double MachineBytes(void)
{
  return (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
}

/* Every sample must fit in memory: refuse sizes no machine holds before allocating them.  A rank of
   a group (-fit_group g) holds its share of a replicate's rows, whole chunks of at most N/64 + 1024
   rows each (moedata.h): fewer than N/g + one chunk; the reference and evaluation samples are whole
   on each rank. */
static PetscErrorCode CheckSampleMemory(MoeSpec *s)
{
  PetscInt64 N = s->ns[s->nn - 1], rows = N;
  double     bytes, avail = MachineBytes();

  PetscFunctionBegin;
  if (s->fit_group > 1) rows = PetscMin(N, N / s->fit_group + N / 64 + 1024);
  bytes = 8.0 * (s->d + 1) * PetscMax(PetscMax(rows, s->reference_n), s->eval_n);
  MoeUserCheck(bytes < avail, "the largest sample (n = %" PetscInt_FMT "%s, -reference_n %" PetscInt_FMT ", -eval_n %" PetscInt_FMT ") needs %.3g GB on a rank, more than this machine's %.3g GB: give smaller sizes%s", s->ns[s->nn - 1], s->fit_group > 1 ? " spread over -fit_group ranks" : "", s->reference_n, s->eval_n, bytes / 1e9, avail / 1e9, s->fit_group > 1 ? " or a larger -fit_group" : (s->fit_group == MOE_FIT_GROUP_AUTO ? " or a fixed -fit_group g (-fit_group auto counts a whole sample on one rank)" : " or spread each fit over a group of ranks (-fit_group)"));
  PetscFunctionReturn(0);
}

/* An upper bound on a fitted model's parameters, counted in floating point before any model is built
   (k * stride overflows 32 bits for sizes such as -d 1024 -k 2095106): per expert at most the gating's
   d + 1, an FFN expert's d + 1, a variance, and one global (dense-to-sparse, hierarchical). */
static double ModelParametersBound(MoeSpec *s)
{
  return (double)s->k * (2.0 * s->d + 4.0);
}

/* Every fit's dense p x p Hessian (with a chunked sum's terms), and the master's copy of every task's result (its p values, its losses
   and about 256 bytes of record), must fit in memory: checked in floating point, before the models and
   the task grid are allocated. */
static PetscErrorCode CheckModelAndGridMemory(MoeSpec *s)
{
  double p, hessian, tasks, grid, avail = MachineBytes();

  PetscFunctionBegin;
  p       = ModelParametersBound(s);
  hessian = 8.0 * (2.0 * p * p + 8.0 * p * (p + 1) / 2); /* the matrix, a chunk's term, and the packed partial sums of the chunks' stack (at most log2(64) + 2) */
  MoeUserCheck(hessian < avail, "-k %" PetscInt_FMT " experts in -d %" PetscInt_FMT " make fits of up to %.3g parameters whose Hessian needs %.3g GB, more than this machine's %.3g GB: give smaller sizes", s->k, s->d, p, hessian / 1e9, avail / 1e9);
  tasks = (double)s->ngatings * s->nexperts * s->nn * ((double)s->nestimators * s->replicates + (double)s->stability_replicates * s->stability_starts);
  grid  = tasks * (8.0 * (p + s->nlosses) + 256.0);
  MoeUserCheck(grid < avail, "-replicates %" PetscInt_FMT " make %.3g tasks whose results need %.3g GB, more than this machine's %.3g GB: give fewer replicates or split the experiment", s->replicates, tasks, grid / 1e9, avail / 1e9);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecValidate(MoeSpec *s, PetscBool run, MoeSpecReadFlags *f)
{
  PetscFunctionBegin;
  PetscCall(CheckFinite(s));
  PetscCall(CheckSentinels(s));
  PetscCall(CheckDataAndFit(s, f));
  PetscCall(CheckTruthAndCertify(s, run));
  ResolveDefaults(s);
  MoeUserCheck(s->reference_n >= 1, "-reference_n %" PetscInt_FMT " must be at least 1", s->reference_n);
  PetscCall(CheckSampleMemory(s));
  PetscCall(CheckModelAndGridMemory(s));
  PetscCall(CheckFamilies(s));
  PetscFunctionReturn(0);
}
