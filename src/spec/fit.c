/* The fits of the spec: the estimators (each reads its own options), the least-squares fit's settings, the
   certification and the stability diagnostic. */
#include <moe/private/specimpl.h>

/* A truth that moves with n has no fixed regression function or G-bar to compare with: its fits have
   the truth's families and their losses compare parameters. */
static PetscErrorCode CheckDriftingTruth(MoeSpec *s)
{
  PetscInt  i, g, e;
  PetscBool moves = PETSC_FALSE;

  PetscFunctionBegin;
  for (i = 0; s->truthfile && i < s->truthfile->n; i++) moves = (PetscBool)(moves || s->truthfile->truths[i].drift);
  if (!moves) PetscFunctionReturn(0);
  for (i = 0; i < s->ngatings; i++) MoeUserCheck(s->gating_families[i] == s->truth_gating_family, "-gating %s: the truth of -truth_file %s moves with n, so the fits have its gating family (%s): there is no G-bar of a moving truth", s->gatings[i], s->truth_file, s->truth_gating);
  for (i = 0; i < s->nlosses; i++) {
    const MoeLossType *t;
    PetscCall(MoeLossGet(s->losses[i], &t));
    MoeUserCheck(t->atoms && t->target == MOE_LOSS_ATOMS, "-losses %s: the truth of -truth_file %s moves with n, so the losses compare parameters with each n's truth: leave %s out", s->losses[i], s->truth_file, s->losses[i]);
  }
  for (g = 0; g < s->ngatings; g++)
    for (e = 0; e < s->nexperts; e++) {
      PetscBool need;
      PetscCall(MoeSpecNeedsReference(s, g, e, &need));
      MoeUserCheck(!need, "-expert %s: the truth of -truth_file %s moves with n, so the fits have its families (%s x %s): there is no G-bar of a moving truth", s->experts[e], s->truth_file, s->truth_gating, s->truth_expert);
    }
  PetscFunctionReturn(0);
}

/* The likelihood models: the Gaussian MoE needs gates that sum to one (a gating that declares so), the
   contaminated MoE one sigmoid-gated atom; both are measured against their own truth: the fits have the
   truth's families (the reference G-bar of a misspecified likelihood model is not computed). */
static PetscErrorCode CheckLikelihoodModel(MoeSpec *s)
{
  PetscInt i;

  PetscFunctionBegin;
  MoeUserCheck(s->truth_sigma > 0 && PetscIsNormalReal(s->truth_sigma), "-truth_sigma %g must be a standard deviation > 0", (double)s->truth_sigma);
  MoeUserCheck(s->model != MOE_MODEL_CONTAMINATED || s->truthfile, "-model contaminated takes its truth from -truth_file (beta, tau, eta and the variance nu of the prompt): a drawn truth has no such design");
  for (i = 0; i < s->ngatings; i++) {
    if (s->model == MOE_MODEL_GAUSSIAN) MoeUserCheck(s->gating_families[i]->sums_to_one, "-gating %s: the Gaussian MoE needs gates that sum to one (a softmax-type or the normalised sigmoid gating), not %s", s->gatings[i], s->gatings[i]);
    else MoeUserCheck(s->gating_families[i]->mass == MOE_MASS_SIGMOID && !s->gating_families[i]->sums_to_one && s->k == 1 && s->kstar == 1, "-model contaminated has one contamination atom with a sigmoid gate: give -gating sigmoid, -k 1 and -kstar 1 (now -gating %s, -k %" PetscInt_FMT ", -kstar %" PetscInt_FMT ")", s->gatings[i], s->k, s->kstar);
    MoeUserCheck(s->gating_families[i] == s->truth_gating_family, "-gating %s: the %s MoE is fitted with the truth's gating family (%s): a misspecified likelihood model has no reference G-bar in moerate", s->gatings[i], MoeModelTypes[s->model], s->truth_gating);
  }
  for (i = 0; i < s->nexperts; i++) MoeUserCheck(!s->truth_expert_family || s->truth_expert_family == s->expert_families[i], "-expert %s: the %s MoE is fitted with the truth's expert family (%s)", s->experts[i], MoeModelTypes[s->model], s->truth_expert);
  PetscFunctionReturn(0);
}

/* The model type fixes the estimators (lse, sgd, brgn: regression; mle: the likelihood models; em: the
   Gaussian MoE) and, for a likelihood model, the families; a truth that moves with n, the losses. */
PetscErrorCode MoeSpecCheckModelType(MoeSpec *s)
{
  PetscInt i;

  PetscFunctionBegin;
  for (i = 0; i < s->nestimators; i++) {
    const MoeEstimatorFamily *f = MoeEstimatorGetFamily(s->estimator[i]);
    MoeUserCheck(MoeEstimatorEstimates(f, s->model), "-estimator %s does not estimate the %s model (-model %s): use %s", s->estimators[i], MoeModelTypes[s->model], MoeModelTypes[s->model], s->model == MOE_MODEL_REGRESSION ? "-estimator lse (or sgd)" : "-estimator mle");
  }
  if (s->truthfile) MoeUserCheck(s->truthfile->truths[0].model == s->model, "-truth_file %s holds a %s truth, but -model is %s: give -model %s", s->truth_file, MoeModelTypes[s->truthfile->truths[0].model], MoeModelTypes[s->model], MoeModelTypes[s->truthfile->truths[0].model]);
  if (s->model != MOE_MODEL_REGRESSION) PetscCall(CheckLikelihoodModel(s));
  PetscCall(CheckDriftingTruth(s));
  PetscFunctionReturn(0);
}

/* -estimator: the estimators fitted to the same data (default lse). */
static PetscErrorCode ReadEstimators(PetscOptionItems *PetscOptionsObject, MoeSpec *s, PetscBool run)
{
  char     names[256], help[512], known[256];
  PetscBool set;
  PetscInt i;

  PetscFunctionBegin;
  PetscCall(MoeEstimatorTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(help, sizeof(help), "estimators fitted to the same data: %s (comma list; default lse, the least-squares estimator the theory is about)", names));
  PetscCall(MoeSpecReadNameList(PetscOptionsObject, "-estimator", help, s->estimators, &s->nestimators, "lse", &set));
  MoeUserCheck(run || s->nestimators == 1, "`moerate fit` runs one estimator: give a single -estimator");
  for (i = 0; i < s->nestimators; i++) {
    const MoeEstimatorFamily *f;
    PetscCall(MoeEstimatorFamilyFind(s->estimators[i], &f));
    if (!f) {
      PetscCall(MoeEstimatorTypesString(known, sizeof(known)));
      PetscCall(MoeUnknownName("-estimator", s->estimators[i], "estimator", known));
    }
  }
  PetscFunctionReturn(0);
}

/* -fit_group g, 0 or auto (MOE_FIT_GROUP_AUTO). */
static PetscErrorCode ReadFitGroup(PetscOptionItems *PetscOptionsObject, MoeSpec *s)
{
  char      value[32] = "0";
  PetscBool set, isauto;

  PetscFunctionBegin;
  PetscCall(PetscOptionsString("-fit_group", "ranks that fit each replicate together, its rows spread over them (lse and mle; the sums in the chunks' order of -fit_order chunks, the same numbers for every group size and on one rank); auto: `moerate run` gives the tasks above half the schedule's fair share a group of up to 64 ranks, the others one (sgd and em fits run alone); 0: each fit on one rank", NULL, value, value, sizeof(value), &set));
  if (!set) PetscFunctionReturn(0);
  PetscCall(PetscStrcasecmp(value, "auto", &isauto));
  if (isauto) s->fit_group = MOE_FIT_GROUP_AUTO;
  else {
    char *end;
    long  g = strtol(value, &end, 10);
    MoeUserCheck(end != value && !*end && g >= 0 && g <= PETSC_MPI_INT_MAX, "-fit_group '%s' is not a group size: give a number of ranks (0: one rank per fit) or auto", value);
    s->fit_group = (PetscInt)g;
  }
  PetscFunctionReturn(0);
}

/* -fit_order chunks or rows.  Unset, chunks, unless -fit_hessian_rows or -fit_rows asks for rows in
   row order (read before this). */
static PetscErrorCode ReadFitOrder(PetscOptionItems *PetscOptionsObject, MoeSpec *s)
{
  char      value[32] = "chunks";
  PetscBool set, found;

  PetscFunctionBegin;
  PetscCall(PetscOptionsString("-fit_order", "the order of a least-squares or likelihood fit's sums over its sample: chunks (each chunk of rows summed, then the chunks added pairwise in a shape fixed by n: the same numbers on one rank and on any -fit_group) or rows (one pass in row order, the results committed before chunks became the default); default chunks, rows with -fit_hessian_rows or -fit_rows; TAO's own least-squares types (brgn, pounders) iterate on TAO's sums, only the objective and certificate moerate takes follow this; the sgd and em estimators sum in row order", NULL, value, value, sizeof(value), &set));
  PetscCall(PetscEnumFind(MoeFitOrders, value, (PetscEnum *)&s->fit_order, &found));
  MoeUserCheck(found, "-fit_order '%s' is not an order of the fit's sums: use chunks or rows", value);
  if (!set && (s->hessian_rows || s->rows)) s->fit_order = MOE_FIT_ORDER_ROWS;
  MoeUserCheck(s->fit_order == MOE_FIT_ORDER_ROWS || !s->hessian_rows, "-fit_order chunks with -fit_hessian_rows %" PetscInt_FMT ": a Hessian from the first rows needs the sums in row order; give -fit_order rows or drop -fit_hessian_rows", s->hessian_rows);
  MoeUserCheck(s->fit_order == MOE_FIT_ORDER_ROWS || !s->rows, "-fit_order chunks with -fit_rows: the row-at-a-time comparison runs in row order; give -fit_order rows or drop -fit_rows");
  PetscFunctionReturn(0);
}

/* -fit_group: estimators whose sums go through MoeDataGroupSum, every row in its chunk's Hessian. */
static PetscErrorCode CheckFitGroup(const MoeSpec *s)
{
  char g[32] = "auto";

  PetscFunctionBegin;
  if (!s->fit_group) PetscFunctionReturn(0);
  if (s->fit_group > 0) PetscCall(PetscSNPrintf(g, sizeof(g), "%" PetscInt_FMT, s->fit_group));
  for (PetscInt i = 0; i < s->nestimators && s->fit_group > 0; i++) MoeUserCheck(MoeEstimatorGetFamily(s->estimator[i])->groups, "-fit_group %s: the %s estimator fits on one rank (its sums are not spread over a group): use lse or mle, -fit_group auto (which runs its fits alone), or drop -fit_group", g, s->estimators[i]);
  MoeUserCheck(!s->hessian_rows, "-fit_group %s with -fit_hessian_rows %" PetscInt_FMT ": a group forms the Hessian from every row; drop one of them", g, s->hessian_rows);
  MoeUserCheck(!s->rows, "-fit_group %s with -fit_rows: give one of them", g);
  MoeUserCheck(s->fit_order == MOE_FIT_ORDER_CHUNKS, "-fit_group %s with -fit_order rows: a group sums in the chunks' order; give -fit_order chunks (its fits then differ from row order's by rounding) or drop -fit_group", g);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecReadFit(MPI_Comm comm, MoeSpec *s, PetscBool run)
{
  PetscInt i;

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "moerate fit: the estimators, the least-squares fit and its certification", "moerate");
  PetscCall(ReadEstimators(PetscOptionsObject, s, run));
  PetscCall(PetscOptionsInt("-fit_block", "rows per block of the Gauss-Newton assembly", NULL, s->block, &s->block, NULL));
  PetscCall(PetscOptionsInt("-fit_hessian_rows", "form the Gauss-Newton Hessian from this many rows of the data (sub-sampled Newton; objective and gradient stay exact; the rows double at each stall of the -fit_ftol test, which stops the fit only with all rows; the first rows, so row order: implies -fit_order rows); 0: all rows", NULL, s->hessian_rows, &s->hessian_rows, NULL));
  PetscCall(PetscOptionsInt("-fit_hessian_reuse", "least squares (trust-region types): form the Gauss-Newton Hessian at most once per this many iterations and reuse it in between (objective and gradient stay exact; at the first stall of the -fit_ftol test the fit goes on with a fresh Hessian at every iteration, and only such a stall stops it); 1: a fresh one each iteration", NULL, s->hessian_reuse, &s->hessian_reuse, NULL));
  PetscCall(PetscOptionsBool("-fit_hessian_single", "least squares: form the Gauss-Newton Hessian in single precision (ssyrk, about twice the speed of dsyrk; summed in double across chunks of rows; the objective and gradient, hence the stop and the certificate, stay in double)", NULL, s->hessian_single, &s->hessian_single, NULL));
  PetscCall(PetscOptionsBool("-fit_rows", "least squares: evaluate the model a row at a time during the fit even where blocks of rows go through BLAS (an affine-score gating with FFN or linear experts; the recorded objective and the certificate still use blocks): the same numbers to rounding, slower; to compare; implies -fit_order rows", NULL, s->rows, &s->rows, NULL));
  PetscCall(PetscOptionsReal("-fit_ftol", "stop when the objective decreased by less than ftol*f over -fit_ftol_window iterations (default -1: 0.01/n, a hundredth of the statistical resolution; 0: off)", NULL, s->ftol, &s->ftol, NULL));
  PetscCall(PetscOptionsInt("-fit_ftol_window", "iterations of the objective-decrease test", NULL, s->ftol_window, &s->ftol_window, NULL));
  PetscCall(PetscOptionsReal("-fit_max_norm", "a fit whose parameters leave |theta|_inf <= this has failed: DIVERGED_UNBOUNDED (0: no limit)", NULL, s->max_norm, &s->max_norm, NULL));
  PetscCall(PetscOptionsReal("-fit_max_gradient_z", "a fit stopped by -fit_ftol whose gradient exceeds this many times its statistical scale sqrt(noise H_jj/n) in some parameter has stalled (failed)", NULL, s->max_gradient_z, &s->max_gradient_z, NULL));
  PetscCall(PetscOptionsReal("-certify_tol", "a fit is certified when 2n/noise (f_fit - f_ref) <= this, f_ref the objective of the truth (or G-bar) on the same data", NULL, s->certify_tol, &s->certify_tol, NULL));
  PetscCall(PetscOptionsInt("-certify_starts", "most starts of an uncertified fit (the reference point itself, then more near starts)", NULL, s->certify_starts, &s->certify_starts, NULL));
  PetscCall(PetscOptionsInt("-stability_replicates", "run: the stability diagnostic refits replicates 0..this-1 of every sample size from further starts (restart tasks; 0: none)", NULL, s->stability_replicates, &s->stability_replicates, NULL));
  PetscCall(PetscOptionsInt("-stability_starts", "run: restarts per such replicate, each from starts of its own, certified like the replicate's fit", NULL, s->stability_starts, &s->stability_starts, NULL));
  PetscCall(PetscOptionsReal("-fit_lm_lambda", "line-search Newton types (bnls, nls): initial Levenberg-Marquardt damping (0: plain Gauss-Newton)", NULL, s->lm_lambda, &s->lm_lambda, NULL));
  PetscCall(PetscOptionsReal("-fit_lm_down", "damping factor after a decrease of the objective", NULL, s->lm_down, &s->lm_down, NULL));
  PetscCall(PetscOptionsReal("-fit_lm_up", "damping factor after an increase", NULL, s->lm_up, &s->lm_up, NULL));
  PetscCall(ReadFitGroup(PetscOptionsObject, s));
  PetscCall(ReadFitOrder(PetscOptionsObject, s));
  PetscOptionsEnd();
  PetscCall(MoeEstimatorOptionsDeclare(comm));
  for (i = 0; i < s->nestimators; i++) PetscCall(MoeEstimatorCreate(s->estimators[i], s->opts, &s->estimator[i])); /* each reads its own options */
  PetscCall(CheckFitGroup(s));
  PetscCall(MoeSpecCheckModelType(s));
  PetscFunctionReturn(0);
}
