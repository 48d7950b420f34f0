/* The experiment spec: read from the options database (YAML through -options_file_yaml,
   or the command line), validated before any work starts. */
#include <moespec.h>
#include <moelosstype.h>
#include <moeestimator.h>
#include <unistd.h>

const char *const MoeInputDists[] = {"uniform", "gaussian", "MoeInputDist", "MOE_X_", NULL};
const char *const MoeInitTypes[]  = {"near", "random", "MoeInitType", "MOE_INIT_", NULL};

/* A list option: names, no duplicates, at least one entry. */
static PetscErrorCode ReadNameList(PetscOptionItems *PetscOptionsObject, const char opt[], const char help[], char list[][MOE_NAME_LEN], PetscInt *n, const char deflt[], PetscBool *set)
{
  char    *vals[MOE_MAX_LIST + 1];
  PetscInt i, j, nmax = MOE_MAX_LIST + 1; /* one more than fits: a longer list is refused, not cut */

  PetscFunctionBegin;
  PetscCall(PetscOptionsStringArray(opt, help, NULL, vals, &nmax, set));
  if (!*set) {
    PetscBool given;
    PetscCall(PetscOptionsHasName(NULL, NULL, opt, &given));
    MoeUserCheck(!given, "%s is empty: give at least one name (e.g. %s %s)", opt, opt, deflt);
    *n = 1;
    PetscCall(PetscStrncpy(list[0], deflt, MOE_NAME_LEN));
    PetscFunctionReturn(0);
  }
  MoeUserCheck(nmax > 0 && vals[0][0], "%s is empty: give at least one name (e.g. %s %s)", opt, opt, deflt);
  MoeUserCheck(nmax <= MOE_MAX_LIST, "%s lists more than %d names: split the experiment", opt, MOE_MAX_LIST);
  for (i = 0; i < nmax; i++) {
    PetscCall(PetscStrncpy(list[i], vals[i], MOE_NAME_LEN));
    PetscCall(PetscFree(vals[i]));
  }
  *n = nmax;
  for (i = 0; i < *n; i++) {
    MoeUserCheck(list[i][0], "%s has an empty entry: remove the extra comma", opt);
    for (j = 0; j < i; j++) {
      PetscBool same;
      PetscCall(PetscStrcmp(list[i], list[j], &same));
      MoeUserCheck(!same, "%s lists '%s' twice: give each entry once", opt, list[i]);
    }
  }
  PetscFunctionReturn(0);
}

static PetscBool LooksNumeric(const char *s)
{
  char *end;
  (void)strtod(s, &end);
  return (PetscBool)(end != s && *end == 0);
}

/* Resolve family names through their registries: one line naming the option and the choices. */
static PetscErrorCode UnknownFamily(const char opt[], const char name[], const char what[], const char known[])
{
  PetscFunctionBegin;
  if (LooksNumeric(name)) MoeUserError("%s: '%s' is a number, not the name of any %s; choose from: %s", opt, name, what, known);
  MoeUserError("%s: unknown %s '%s'; choose from: %s", opt, what, name, known);
  PetscFunctionReturn(0);
}

static PetscErrorCode ResolveGatings(const char opt[], const char list[][MOE_NAME_LEN], PetscInt n, const MoeGatingFamily **f)
{
  PetscInt i;
  char     known[256];

  PetscFunctionBegin;
  for (i = 0; i < n; i++) {
    PetscCall(MoeGatingFamilyFind(list[i], &f[i]));
    if (f[i]) continue;
    PetscCall(MoeGatingTypesString(known, sizeof(known)));
    PetscCall(UnknownFamily(opt, list[i], "gating family", known));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ResolveExperts(const char opt[], const char list[][MOE_NAME_LEN], PetscInt n, const MoeExpertFamily **f)
{
  PetscInt i;
  char     known[256];

  PetscFunctionBegin;
  for (i = 0; i < n; i++) {
    PetscCall(MoeExpertFamilyFind(list[i], &f[i]));
    if (f[i]) continue;
    PetscCall(MoeExpertTypesString(known, sizeof(known)));
    PetscCall(UnknownFamily(opt, list[i], "expert family", known));
  }
  PetscFunctionReturn(0);
}

/* -n as an explicit list, or -n_range lo,hi with -n_count m log-spaced values. */
static PetscErrorCode ReadSampleSizes(PetscOptionItems *PetscOptionsObject, MoeSpec *s, PetscBool run)
{
  PetscInt  ns[MOE_MAX_LIST + 1], nn = MOE_MAX_LIST + 1, range[3], nr = 3, count = 4, i, j;
  PetscBool set, rset, cset;

  PetscFunctionBegin;
  PetscCall(PetscOptionsIntArray("-n", run ? "sample sizes (comma list; overrides -n_range), or use -n_range (default 1000,2154,4642,10000)" : "sample size (default 1000)", NULL, ns, &nn, &set));
  PetscCall(PetscOptionsIntArray("-n_range", "smallest,largest sample size of a log-spaced grid of -n_count sizes", NULL, range, &nr, &rset));
  PetscCall(PetscOptionsInt("-n_count", "number of log-spaced sample sizes in -n_range", NULL, count, &count, &cset));
  MoeUserCheck(count >= 1 && count <= MOE_MAX_LIST, "-n_count %" PetscInt_FMT " is outside 1..%d", count, MOE_MAX_LIST);
  { /* an option given with no value: "-n" (or "n: []" in YAML) */
    PetscBool given;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-n", &given));
    MoeUserCheck(set || !given, "-n is empty: give at least one sample size (e.g. -n 1000,10000)");
    PetscCall(PetscOptionsHasName(NULL, NULL, "-n_range", &given));
    MoeUserCheck(set || rset || !given, "-n_range is empty: give the smallest and largest sample size (e.g. -n_range 1000,100000)");
  }
  MoeUserCheck(!set || nn <= MOE_MAX_LIST, "-n lists more than %d sample sizes: split the experiment", MOE_MAX_LIST);
  if (set) rset = PETSC_FALSE; /* -n overrides -n_range (e.g. a spec file's range from the command line) */
  if (rset) {
    MoeUserCheck(nr == 2, "-n_range needs two values, smallest,largest (e.g. -n_range 1000,100000)");
    MoeUserCheck(range[0] > 0 && range[1] >= range[0], "-n_range %" PetscInt_FMT ",%" PetscInt_FMT " is not 0 < smallest <= largest", range[0], range[1]);
    MoeUserCheck(count == 1 || range[1] > range[0], "-n_count %" PetscInt_FMT " needs smallest < largest in -n_range", count);
    for (i = 0; i < count; i++) {
      PetscReal t = count == 1 ? 0 : (PetscReal)i / (count - 1);
      ns[i]       = (PetscInt)PetscFloorReal(0.5 + range[0] * PetscPowReal((PetscReal)range[1] / range[0], t));
    }
    nn = count;
  } else if (!set) {
    ns[0] = 1000;
    nn    = 1;
    if (run) {
      nn = 4;
      for (i = 0; i < nn; i++) ns[i] = (PetscInt)PetscFloorReal(0.5 + 1000 * PetscPowReal(10.0, i / 3.0));
    }
  }
  MoeUserCheck(nn > 0, "-n is empty: give at least one sample size");
  MoeUserCheck(run || nn == 1, "-n: `moerate fit` takes one sample size (use `moerate run` for a grid)");
  for (i = 0; i < nn; i++) {
    MoeUserCheck(ns[i] > 0, "-n %" PetscInt_FMT " is not a positive sample size", ns[i]);
    for (j = 0; j < i; j++) MoeUserCheck(ns[i] != ns[j], "-n lists %" PetscInt_FMT " twice (after rounding): give distinct sample sizes", ns[i]);
  }
  PetscCall(PetscSortInt(nn, ns));
  s->nn = nn;
  for (i = 0; i < nn; i++) s->ns[i] = ns[i];
  PetscFunctionReturn(0);
}

/* Does pair (gating g, expert e) have the truth's families? */
static PetscBool PairMatchesTruth(const MoeSpec *s, PetscInt g, PetscInt e)
{
  return (PetscBool)(s->gating_families[g] == s->truth_gating_family && (!s->truth_expert_family || s->truth_expert_family == s->expert_families[e]));
}

/* Losses: "auto" picks the natural losses of the fitted gatings (science.md) and l2. */
static PetscErrorCode ReadLosses(PetscOptionItems *PetscOptionsObject, MoeSpec *s)
{
  char      list[MOE_MAX_LIST][MOE_NAME_LEN];
  PetscInt  n, i, j;
  PetscBool set, isauto;
  char      names[512], help[700];

  PetscFunctionBegin;
  PetscCall(MoeLossTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(help, sizeof(help), "losses to compute (comma list of %s), or auto: l2 and the natural losses of the fitted gatings (default auto)", names));
  PetscCall(ReadNameList(PetscOptionsObject, "-losses", help, list, &n, "auto", &set));
  PetscCall(PetscStrcmp(list[0], "auto", &isauto));
  s->nlosses = 0;
  if (isauto && n == 1) { /* l2, l2_truth when some fit is misspecified, and the families' Voronoi losses */
    PetscBool   chosen[MOE_MAX_LIST] = {PETSC_FALSE}, other = PETSC_FALSE;
    PetscInt    nl;
    const char *const *names;
    PetscCall(MoeLossNames(&nl, &names));
    for (i = 0; i < s->ngatings; i++) {
      const MoeGatingFamily *f      = s->gating_families[i];
      PetscBool              misfit = (PetscBool)(f != s->truth_gating_family || s->truth_regime == 2);
      for (j = 0; j < nl; j++)
        if (MoeNameInList(names[j], f->losses) || (misfit && MoeNameInList(names[j], f->misfit_losses))) chosen[j] = PETSC_TRUE;
      for (PetscInt e = 0; e < s->nexperts; e++) other = (PetscBool)(other || !PairMatchesTruth(s, i, e));
    }
    for (j = 0; j < nl; j++) {
      const MoeLossType *t;
      PetscCall(MoeLossGet(names[j], &t));
      if (!t->optin && (t->voronoi ? chosen[j] : (t->target != MOE_LOSS_FUNCTION || other))) PetscCall(PetscStrncpy(s->losses[s->nlosses++], names[j], MOE_NAME_LEN));
    }
  } else {
    for (i = 0; i < n; i++) {
      const MoeLossType *t;
      PetscCall(MoeLossGet(list[i], &t));
      PetscCall(PetscStrncpy(s->losses[s->nlosses++], list[i], MOE_NAME_LEN));
    }
  }
  s->need_reference = PETSC_FALSE;
  for (i = 0; i < s->ngatings; i++)
    for (j = 0; j < s->nexperts; j++) {
      PetscBool need;
      PetscCall(MoeSpecNeedsReference(s, i, j, &need));
      if (need) s->need_reference = PETSC_TRUE;
    }
  PetscFunctionReturn(0);
}

/* "-tao_..." options of the database, sorted, as "name value" lines: part of the spec. */
static PetscErrorCode AppendTaoOptions(char **text, size_t *len, size_t *cap)
{
  char   *all, *tok, *save, *lines[256];
  PetscInt n = 0, i;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, &all));
  for (tok = strtok_r(all, " ", &save); tok && n < 256; tok = strtok_r(NULL, " ", &save)) {
    /* TAO's options of the fits: least squares (-tao_), maximum likelihood (-mle_tao_), EM's gating step */
    if (!strncmp(tok, "-tao_", 5) || !strncmp(tok, "-mle_tao_", 9) || !strncmp(tok, "-em_gating_tao_", 15)) { /* its value, if any: a word that is not an option (a number may start with -) */
      char *val = NULL, *next = save, word[256], line[512];
      while (next && *next == ' ') next++;
      if (next && *next) {
        PetscCall(PetscStrncpy(word, next, PetscMin(sizeof(word), strcspn(next, " ") + 1)));
        if (word[0] != '-' || LooksNumeric(word)) val = strtok_r(NULL, " ", &save);
      }
      PetscCall(PetscSNPrintf(line, sizeof(line), "%s %s\n", tok, val ? val : ""));
      PetscCall(PetscStrallocpy(line, &lines[n++]));
    }
  }
  for (i = 0; i < n; i++) { /* insertion sort: a handful of lines */
    PetscInt j = i;
    while (j > 0 && strcmp(lines[j - 1], lines[j]) > 0) {
      char *t      = lines[j];
      lines[j]     = lines[j - 1];
      lines[j - 1] = t;
      j--;
    }
  }
  for (i = 0; i < n; i++) {
    size_t l = strlen(lines[i]);
    if (*len + l + 1 > *cap) {
      *cap = 2 * (*cap + l);
      PetscCall(PetscRealloc(*cap, text));
    }
    memcpy(*text + *len, lines[i], l + 1);
    *len += l;
    PetscCall(PetscFree(lines[i]));
  }
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

static PetscErrorCode Appendf(char **text, size_t *len, size_t *cap, const char *fmt, ...)
{
  char    line[4096];
  va_list ap;
  size_t  l;

  PetscFunctionBegin;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  l = strlen(line);
  if (*len + l + 1 > *cap) {
    *cap = 2 * (*cap + l);
    PetscCall(PetscRealloc(*cap, text));
  }
  memcpy(*text + *len, line, l + 1);
  *len += l;
  PetscFunctionReturn(0);
}

static PetscErrorCode JoinNames(char list[][MOE_NAME_LEN], PetscInt n, char *buf, size_t len)
{
  PetscInt i;

  PetscFunctionBegin;
  buf[0] = 0;
  for (i = 0; i < n; i++) {
    if (i) PetscCall(PetscStrlcat(buf, ",", len));
    PetscCall(PetscStrlcat(buf, list[i], len));
  }
  PetscFunctionReturn(0);
}

/* The canonical spec text: every resolved setting that changes a number in the results
   (not the output path or run controls), one "name value" per line, in a fixed order;
   the spec hash is FNV-1a 64 of this text. */
/* Is the spec's estimator list the default (lse alone)? Then the canonical text leaves it out,
   so that results written before estimators existed keep their spec hash. */
static PetscBool DefaultEstimators(const MoeSpec *s)
{
  const MoeEstimatorFamily *lse = NULL;

  if (MoeEstimatorFamilyFind("lse", &lse)) return PETSC_FALSE;
  return (PetscBool)(s->nestimators == 1 && s->estimator_families[0] == lse);
}

static PetscErrorCode BuildCanonicalText(MoeSpec *s)
{
  size_t   len = 0, cap = 4096;
  char     buf[4096];
  PetscInt i;
  char   **T = &s->text;
  const char **famopts;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(cap, T));
  (*T)[0] = 0;
  PetscCall(JoinNames(s->gatings, s->ngatings, buf, sizeof(buf)));
  PetscCall(Appendf(T, &len, &cap, "-gating %s\n", buf));
  PetscCall(JoinNames(s->experts, s->nexperts, buf, sizeof(buf)));
  PetscCall(Appendf(T, &len, &cap, "-expert %s\n", buf));
  PetscCall(Appendf(T, &len, &cap, "-k %" PetscInt_FMT "\n-d %" PetscInt_FMT "\n-kstar %" PetscInt_FMT "\n", s->k, s->d, s->kstar));
  PetscCall(MoeFamilyOptionNames(&famopts));
  for (const char **o = famopts; *o; o++) { /* family options, fitted and truth */
    const char *pre[2] = {NULL, "truth_"};
    for (i = 0; i < 2; i++) {
      char      v[256];
      PetscBool set;
      PetscCall(PetscOptionsGetString(s->opts, pre[i], *o, v, sizeof(v), &set));
      if (set) PetscCall(Appendf(T, &len, &cap, "-%s%s %s\n", pre[i] ? pre[i] : "", *o + 1, v));
    }
  }
  PetscCall(Appendf(T, &len, &cap, "-truth_gating %s\n-truth_expert %s\n-truth_file %s\n", s->truth_gating, s->truth_expert[0] ? s->truth_expert : "same", s->truth_file));
  PetscCall(Appendf(T, &len, &cap, "-truth_regime %" PetscInt_FMT "\n-truth_beta1_zero %" PetscInt_FMT "\n-truth_beta0_var %.17g\n-truth_beta1_var %.17g\n-truth_expert_var %.17g\n-truth_seed %" PetscInt_FMT "\n", s->truth_regime, s->truth_beta1_zero, (double)s->truth_beta0_var, (double)s->truth_beta1_var, (double)s->truth_expert_var, s->truth_seed));
  PetscCall(Appendf(T, &len, &cap, "-x_dist %s\n-x_lo %.17g\n-x_hi %.17g\n-x_sd %.17g\n-noise %.17g\n-seed %" PetscInt_FMT "\n", MoeInputDists[s->xdist], (double)s->xlo, (double)s->xhi, (double)s->xsd, (double)s->noise, s->seed));
  buf[0] = 0;
  for (i = 0; i < s->nn; i++) {
    char v[32];
    PetscCall(PetscSNPrintf(v, sizeof(v), "%s%" PetscInt_FMT, i ? "," : "", s->ns[i]));
    PetscCall(PetscStrlcat(buf, v, sizeof(buf)));
  }
  PetscCall(Appendf(T, &len, &cap, "-n %s\n-replicates %" PetscInt_FMT "\n", buf, s->replicates));
  PetscCall(Appendf(T, &len, &cap, "-init %s\n-init_perturb %.17g\n-init_scale %.17g\n-init_starts %" PetscInt_FMT "\n", MoeInitTypes[s->init], (double)s->init_perturb, (double)s->init_scale, s->init_starts));
  PetscCall(JoinNames(s->losses, s->nlosses, buf, sizeof(buf)));
  PetscCall(Appendf(T, &len, &cap, "-losses %s\n-loss_r %.17g\n-eval_n %" PetscInt_FMT "\n-reference_n %" PetscInt_FMT "\n", buf, (double)s->loss_r, s->eval_n, s->reference_n));
  PetscCall(Appendf(T, &len, &cap, "-truth_draw %" PetscInt_FMT "\n-truth_max_sd %.17g\n-truth_active_min %.17g\n-truth_max_draws %" PetscInt_FMT "\n-allow_ill_posed %d\n", s->truth_draw_set ? s->truth_draw : -1, (double)s->truth_max_sd, (double)s->truth_active_min, s->truth_max_draws, (int)s->allow_ill_posed));
  PetscCall(Appendf(T, &len, &cap, "-certify_tol %.17g\n-certify_starts %" PetscInt_FMT "\n-fit_max_gradient_z %.17g\n", (double)s->certify_tol, s->certify_starts, (double)s->max_gradient_z));
  PetscCall(Appendf(T, &len, &cap, "-fit_ftol %.17g\n-fit_ftol_window %" PetscInt_FMT "\n-fit_max_norm %.17g\n", (double)s->ftol, s->ftol_window, (double)s->max_norm));
  PetscCall(Appendf(T, &len, &cap, "-fit_block %" PetscInt_FMT "\n-fit_lm_lambda %.17g\n-fit_lm_down %.17g\n-fit_lm_up %.17g\n", s->block, (double)s->lm_lambda, (double)s->lm_down, (double)s->lm_up));
  if (s->hessian_rows) PetscCall(Appendf(T, &len, &cap, "-fit_hessian_rows %" PetscInt_FMT "\n", s->hessian_rows)); /* only when set: earlier hashes stay */
  if (s->rows) PetscCall(Appendf(T, &len, &cap, "-fit_rows 1\n"));
  if (s->hessian_reuse != 1) PetscCall(Appendf(T, &len, &cap, "-fit_hessian_reuse %" PetscInt_FMT "\n", s->hessian_reuse));
  if (s->hessian_single) PetscCall(Appendf(T, &len, &cap, "-fit_hessian_single 1\n"));
  if (s->stability_replicates) PetscCall(Appendf(T, &len, &cap, "-stability_replicates %" PetscInt_FMT "\n-stability_starts %" PetscInt_FMT "\n", s->stability_replicates, s->stability_starts)); /* only when set: earlier hashes stay */
  if (s->model != MOE_MODEL_REGRESSION) PetscCall(Appendf(T, &len, &cap, "-model %s\n-truth_sigma %.17g\n", MoeModelTypes[s->model], (double)s->truth_sigma));
  if (!DefaultEstimators(s)) {
    PetscCall(JoinNames(s->estimators, s->nestimators, buf, sizeof(buf)));
    PetscCall(Appendf(T, &len, &cap, "-estimator %s\n-sgd_epochs %" PetscInt_FMT "\n-sgd_lr %.17g\n-sgd_batch %" PetscInt_FMT "\n", buf, s->sgd_epochs, (double)s->sgd_lr, s->sgd_batch));
    /* only when set: the texts (and hashes) of the results made before EM existed stay valid */
    if (s->em_max_it != MOE_EM_MAX_IT) PetscCall(Appendf(T, &len, &cap, "-em_max_it %" PetscInt_FMT "\n", s->em_max_it));
  }
  PetscCall(AppendTaoOptions(T, &len, &cap));
  PetscCall(PetscSNPrintf(s->hash, sizeof(s->hash), "%016llx", (unsigned long long)MoeHash64(s->text, len)));
  PetscFunctionReturn(0);
}

/* Is loss l of fits of pair (g, e) measured against the truth G*?  Only when the fit has the
   truth's families and the loss is not a reference loss (sigmoid_d3); otherwise the target is
   the reference G-bar of the fitted families. */
PetscErrorCode MoeSpecLossTargetIsTruth(const MoeSpec *s, PetscInt l, PetscInt g, PetscInt e, PetscBool *truth)
{
  const MoeLossType *t;

  PetscFunctionBegin;
  PetscCall(MoeLossGet(s->losses[l], &t));
  *truth = (PetscBool)(t->target == MOE_LOSS_FUNCTION || (t->target == MOE_LOSS_ATOMS && PairMatchesTruth(s, g, e)));
  PetscFunctionReturn(0);
}

/* Does loss l apply to fits of pair (g, e)?  Voronoi losses to the gating families that
   declare them, the others to every fit. */
PetscBool MoeSpecLossApplies(const MoeSpec *s, PetscInt l, PetscInt g)
{
  const MoeLossType *t;

  if (MoeLossGet(s->losses[l], &t)) return PETSC_FALSE;
  return (PetscBool)(!t->voronoi || MoeGatingFamilyHasLoss(s->gating_families[g], s->losses[l]));
}

/* Do fits of pair (g, e) need the reference G-bar?  Always when their families differ from the
   truth's (G-bar is their near start and certification reference), and when one of their
   losses is measured against it. */
PetscErrorCode MoeSpecNeedsReference(const MoeSpec *s, PetscInt g, PetscInt e, PetscBool *need)
{
  PetscInt l;

  PetscFunctionBegin;
  *need = (PetscBool)!PairMatchesTruth(s, g, e);
  for (l = 0; l < s->nlosses; l++) {
    PetscBool truth;
    if (!MoeSpecLossApplies(s, l, g)) continue;
    PetscCall(MoeSpecLossTargetIsTruth(s, l, g, e, &truth));
    if (!truth) *need = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecPairLosses(const MoeSpec *s, PetscInt g, PetscInt e, MoeLossSet *set)
{
  PetscInt l;

  PetscFunctionBegin;
  set->n = s->nlosses;
  set->r = s->loss_r;
  for (l = 0; l < s->nlosses; l++) {
    PetscCall(MoeLossGet(s->losses[l], &set->type[l]));
    set->applies[l] = MoeSpecLossApplies(s, l, g);
    PetscCall(MoeSpecLossTargetIsTruth(s, l, g, e, &set->totruth[l]));
  }
  PetscFunctionReturn(0);
}

/* Which truth the fits of expert index e use: 0 with -truth_expert (one truth for all), else e
   (one truth per expert family). */
PetscInt MoeSpecTruthIndex(const MoeSpec *s, PetscInt e)
{
  return s->truth_expert_family ? 0 : e;
}

/* The model type fixes the estimators (lse, sgd: regression; mle: Gaussian MoE); the Gaussian MoE
   needs gates that sum to one (softmax-type gatings) and is measured against its own truth: the
   fits have the truth's families (the reference G-bar of a misspecified Gaussian MoE is not
   computed). */
static PetscErrorCode CheckModelType(MoeSpec *s)
{
  PetscInt i;

  PetscFunctionBegin;
  for (i = 0; i < s->nestimators; i++)
    MoeUserCheck(s->estimator_families[i]->model == s->model, "-estimator %s estimates the %s model, but -model is %s: use %s", s->estimators[i], MoeModelTypes[s->estimator_families[i]->model], MoeModelTypes[s->model], s->model == MOE_MODEL_GAUSSIAN ? "-estimator mle" : "-estimator lse (or sgd)");
  if (s->truthfile) MoeUserCheck(s->truthfile->truths[0].model == s->model, "-truth_file %s holds a %s truth, but -model is %s: give -model %s", s->truth_file, MoeModelTypes[s->truthfile->truths[0].model], MoeModelTypes[s->model], MoeModelTypes[s->truthfile->truths[0].model]);
  if (s->model != MOE_MODEL_GAUSSIAN) PetscFunctionReturn(0);
  MoeUserCheck(s->truth_sigma > 0 && PetscIsNormalReal(s->truth_sigma), "-truth_sigma %g must be a standard deviation > 0", (double)s->truth_sigma);
  for (i = 0; i < s->ngatings; i++) {
    MoeUserCheck(s->gating_families[i]->mass == MOE_MASS_EXP, "-gating %s: the Gaussian MoE needs gates that sum to one (a softmax-type gating), not %s", s->gatings[i], s->gatings[i]);
    MoeUserCheck(s->gating_families[i] == s->truth_gating_family, "-gating %s: the Gaussian MoE is fitted with the truth's gating family (%s): a misspecified Gaussian MoE has no reference G-bar in moerate", s->gatings[i], s->truth_gating);
  }
  for (i = 0; i < s->nexperts; i++) MoeUserCheck(!s->truth_expert_family || s->truth_expert_family == s->expert_families[i], "-expert %s: the Gaussian MoE is fitted with the truth's expert family (%s)", s->experts[i], s->truth_expert);
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
  PetscCall(ReadNameList(PetscOptionsObject, "-estimator", help, s->estimators, &s->nestimators, "lse", &set));
  MoeUserCheck(run || s->nestimators == 1, "`moerate fit` runs one estimator: give a single -estimator");
  for (i = 0; i < s->nestimators; i++) {
    PetscCall(MoeEstimatorFamilyFind(s->estimators[i], &s->estimator_families[i]));
    if (s->estimator_families[i]) continue;
    PetscCall(MoeEstimatorTypesString(known, sizeof(known)));
    PetscCall(UnknownFamily("-estimator", s->estimators[i], "estimator", known));
  }
  PetscFunctionReturn(0);
}

/* Read and validate the spec; run: `moerate run` (lists, replicates) or `moerate fit`. */
PetscErrorCode MoeSpecCreate(MPI_Comm comm, PetscOptions opts, PetscBool run, MoeTruthFile *tf, MoeSpec **spec)
{
  MoeSpec  *s;
  PetscBool set, kset, kstarset, dset, tgset;
  PetscInt  i, regime;
  char      dist[32] = "uniform", init[32] = "near", model[32] = "regression", names[512], gating_help[600], expert_help[600];

  PetscFunctionBegin;
  PetscCall(MoeGatingRegisterAll());
  PetscCall(MoeExpertRegisterAll());
  PetscCall(MoeLossRegisterAll());
  PetscCall(PetscNew(&s));
  s->opts      = opts;
  s->truthfile = tf;
  s->k = 3, s->kstar = 2, s->d = 4; /* with the truth's variances below: a well-posed default */
  s->truth_regime = 2, s->truth_seed = -1, s->truth_draw = -1, s->seed = 1;
  s->truth_max_sd = 0.1, s->truth_active_min = 0.05, s->truth_max_draws = 100;
  s->certify_tol = 3, s->certify_starts = 8;
  s->stability_replicates = 0, s->stability_starts = 4;
  s->sgd_epochs = 10, s->sgd_lr = 0.1, s->sgd_batch = 32;
  s->em_max_it = MOE_EM_MAX_IT;
  s->truth_sigma = 0.3;
  s->noise = 0.01, s->xlo = -1, s->xhi = 1, s->xsd = 1;
  s->replicates = run ? 3 : 1, s->init_starts = 1, s->init_perturb = -1, s->init_scale = -1;
  s->loss_r = 2, s->eval_n = 10000, s->reference_n = -1;
  s->block = 256, s->lm_lambda = 1e-4, s->lm_down = 0.2, s->lm_up = 1.5;
  s->ftol = -1, s->ftol_window = 5, s->max_norm = 100, s->max_gradient_z = 1, s->hessian_reuse = 1;
  s->truth_beta0_var = -1, s->truth_beta1_var = -1, s->truth_expert_var = -1;

  PetscCall(MoeGatingTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(gating_help, sizeof(gating_help), "gating families to fit: %s (comma list; default sigmoid)", names));
  PetscCall(MoeExpertTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(expert_help, sizeof(expert_help), "expert families: %s (comma list; default relu)", names));
  PetscOptionsBegin(comm, NULL, "moerate spec: the fitted models", "moerate");
  PetscCall(ReadNameList(PetscOptionsObject, "-gating", gating_help, s->gatings, &s->ngatings, "sigmoid", &set));
  PetscCall(ReadNameList(PetscOptionsObject, "-expert", expert_help, s->experts, &s->nexperts, "relu", &set));
  PetscCall(ResolveGatings("-gating", (const char(*)[MOE_NAME_LEN])s->gatings, s->ngatings, s->gating_families));
  PetscCall(ResolveExperts("-expert", (const char(*)[MOE_NAME_LEN])s->experts, s->nexperts, s->expert_families));
  MoeUserCheck(run || (s->ngatings == 1 && s->nexperts == 1), "`moerate fit` fits one gating and one expert family: give a single -gating and -expert");
  PetscCall(PetscOptionsInt("-k", "number of fitted atoms (experts)", NULL, s->k, &s->k, &kset));
  PetscCall(PetscOptionsInt("-kstar", "number of true atoms k* (from the truth file if one is given)", NULL, s->kstar, &s->kstar, &kstarset));
  PetscCall(PetscOptionsInt("-d", "input dimension", NULL, s->d, &s->d, &dset));
  PetscCall(PetscOptionsString("-model", "model type: regression (Y = f_G(X) + N(0, noise)) or gaussian (the Gaussian MoE of P3: Y from the expert a gate draws, N(h_i(X), sigma_i^2); estimator mle)", NULL, model, model, sizeof(model), NULL));
  PetscOptionsEnd();
  PetscCall(PetscEnumFind(MoeModelTypes, model, (PetscEnum *)&s->model, &set));
  MoeUserCheck(set, "-model '%s' is not a model type: use regression or gaussian", model);
  /* family options: declared by the families themselves (for -help), read by them at creation */
  PetscCall(MoeGatingFamilyOptionsDeclare(comm, NULL));

  PetscOptionsBegin(comm, NULL, "moerate truth: the true mixing measure G* and its screening", "moerate");
  PetscCall(PetscOptionsString("-truth_file", "read the truth from this HDF5 (moerate output) or YAML file", NULL, s->truth_file, s->truth_file, sizeof(s->truth_file), NULL));
  PetscCall(PetscStrncpy(s->truth_gating, s->gatings[0], sizeof(s->truth_gating)));
  PetscCall(PetscOptionsString("-truth_gating", "gating family of the truth (default: the first -gating)", NULL, s->truth_gating, s->truth_gating, sizeof(s->truth_gating), &tgset));
  PetscCall(PetscOptionsString("-truth_expert", "expert family of the truth (default: that of each fit)", NULL, s->truth_expert, s->truth_expert, sizeof(s->truth_expert), NULL));
  PetscCall(ResolveGatings("-truth_gating", (const char(*)[MOE_NAME_LEN])&s->truth_gating, 1, &s->truth_gating_family));
  if (s->truth_file[0]) { /* the truth file fixes k*, d and the truth's families */
    const MoeTruthRecord *r;
    PetscCheck(tf && tf->n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "-truth_file %s was not read before the spec", s->truth_file);
    r = &tf->truths[0];
    MoeUserCheck(!dset || r->d == s->d, "-d %" PetscInt_FMT " does not match the truth file %s (d = %" PetscInt_FMT "): drop -d or use a matching truth", s->d, s->truth_file, r->d);
    MoeUserCheck(!kstarset || r->kstar == s->kstar, "-kstar %" PetscInt_FMT " does not match the truth file %s (k* = %" PetscInt_FMT "): drop -kstar or use a matching truth", s->kstar, s->truth_file, r->kstar);
    s->d     = r->d;
    s->kstar = r->kstar;
    MoeUserCheck(!tgset || r->gating == s->truth_gating_family, "-truth_gating %s does not match the truth file %s (gating %s): drop -truth_gating", s->truth_gating, s->truth_file, r->gating->name);
    PetscCall(PetscStrncpy(s->truth_gating, r->gating->name, sizeof(s->truth_gating)));
    s->truth_gating_family = r->gating;
    if (!s->truth_expert[0] && tf->n == 1) PetscCall(PetscStrncpy(s->truth_expert, r->expert->name, sizeof(s->truth_expert)));
  }
  if (s->truth_expert[0]) PetscCall(ResolveExperts("-truth_expert", (const char(*)[MOE_NAME_LEN])&s->truth_expert, 1, &s->truth_expert_family));
  PetscCall(PetscOptionsInt("-truth_regime", "1: beta1* = 0 (P1 Regime 1); 2: beta1* ~ N(0, truth_beta1_var I)", NULL, s->truth_regime, &s->truth_regime, NULL));
  PetscCall(PetscOptionsInt("-truth_beta1_zero", "Regime 2: the first this-many true atoms keep beta1* = 0", NULL, 0, &s->truth_beta1_zero, NULL));
  PetscCall(PetscOptionsReal("-truth_beta0_var", "variance of beta0* (default 0.01/d, P1's)", NULL, s->truth_beta0_var, &s->truth_beta0_var, NULL));
  PetscCall(PetscOptionsReal("-truth_beta1_var", "variance of each entry of beta1* in Regime 2 (default 4: gates that vary with x; P1 used 0.01/d)", NULL, s->truth_beta1_var, &s->truth_beta1_var, NULL));
  PetscCall(PetscOptionsReal("-truth_sigma", "Gaussian MoE: the sigma of every drawn true expert", NULL, s->truth_sigma, &s->truth_sigma, NULL));
  PetscCall(PetscOptionsReal("-truth_expert_var", "variance of each entry of a* and of b* (default 4: hinges across the inputs; P1 used 1/d)", NULL, s->truth_expert_var, &s->truth_expert_var, NULL));
  PetscCall(PetscOptionsInt("-seed", "experiment seed: data, initial points, evaluation sample", NULL, s->seed, &s->seed, NULL));
  PetscCall(PetscOptionsInt("-truth_seed", "seed of the drawn truth (default: -seed; then ill-posed draws are redrawn, see -truth_max_sd)", NULL, s->truth_seed, &s->truth_seed, &s->truth_seed_set));
  PetscCall(PetscOptionsInt("-truth_draw", "use this draw of the truth seed, unscreened for redraws (default: the first well-posed one)", NULL, s->truth_draw, &s->truth_draw, &s->truth_draw_set));
  PetscCall(PetscOptionsReal("-truth_max_sd", "screening: largest sd sqrt(noise/(n lambda_min)) of an estimate along the truth's weakest Fisher direction at the smallest n", NULL, s->truth_max_sd, &s->truth_max_sd, NULL));
  PetscCall(PetscOptionsReal("-truth_active_min", "screening: every ReLU/GELU expert of the truth must be active, and inactive, on at least this fraction of the inputs", NULL, s->truth_active_min, &s->truth_active_min, NULL));
  PetscCall(PetscOptionsInt("-truth_max_draws", "screening: draws of the truth seed tried before giving up", NULL, s->truth_max_draws, &s->truth_max_draws, NULL));
  PetscCall(PetscOptionsBool("-allow_ill_posed", "measure a truth that fails the screening (P1's published design): its rates are then not evidence", NULL, s->allow_ill_posed, &s->allow_ill_posed, NULL));
  PetscOptionsEnd();
  PetscCall(MoeGatingFamilyOptionsDeclare(comm, "truth_"));

  PetscOptionsBegin(comm, NULL, "moerate data: inputs, noise, sample sizes", "moerate");
  PetscCall(PetscOptionsString("-x_dist", "input distribution: uniform (on [x_lo, x_hi]^d) or gaussian (N(0, x_sd^2 I))", NULL, dist, dist, sizeof(dist), NULL));
  PetscCall(PetscOptionsReal("-x_lo", "lower end of the uniform inputs", NULL, s->xlo, &s->xlo, NULL));
  PetscCall(PetscOptionsReal("-x_hi", "upper end of the uniform inputs", NULL, s->xhi, &s->xhi, NULL));
  PetscCall(PetscOptionsReal("-x_sd", "standard deviation of the Gaussian inputs", NULL, s->xsd, &s->xsd, NULL));
  PetscCall(PetscOptionsReal("-noise", "variance nu of the Gaussian noise", NULL, s->noise, &s->noise, NULL));
  PetscCall(ReadSampleSizes(PetscOptionsObject, s, run));
  /* read by `fit` too (and ignored there), so that it accepts a run's spec file */
  PetscCall(PetscOptionsInt("-replicates", "replicates per sample size (run)", NULL, s->replicates, &s->replicates, NULL));
  if (!run) s->replicates = 1;
  PetscOptionsEnd();

  PetscOptionsBegin(comm, NULL, "moerate fit: initial points", "moerate");
  PetscCall(PetscOptionsString("-init", "initial point: near (the truth, split atoms, perturbed) or random", NULL, init, init, sizeof(init), NULL));
  PetscCall(PetscOptionsReal("-init_perturb", "near: standard deviation of the perturbation of each parameter (default 0.1/sqrt(d))", NULL, s->init_perturb, &s->init_perturb, NULL));
  PetscCall(PetscOptionsReal("-init_scale", "random: standard deviation of each parameter (default 1/sqrt(d))", NULL, s->init_scale, &s->init_scale, NULL));
  PetscCall(PetscOptionsInt("-init_starts", "starts per fit; the best objective is kept", NULL, s->init_starts, &s->init_starts, NULL));
  PetscOptionsEnd();

  PetscOptionsBegin(comm, NULL, "moerate losses", "moerate");
  PetscCall(ReadLosses(PetscOptionsObject, s));
  PetscCall(PetscOptionsReal("-loss_r", "exponent r of sigmoid_d2", NULL, s->loss_r, &s->loss_r, NULL));
  PetscCall(PetscOptionsInt("-eval_n", "Monte-Carlo points of the L2 regression error", NULL, s->eval_n, &s->eval_n, NULL));
  PetscCall(PetscOptionsInt("-reference_n", "noise-free sample size of the reference fit G-bar (default 10 x largest n)", NULL, s->reference_n, &s->reference_n, NULL));
  PetscOptionsEnd();

  PetscOptionsBegin(comm, NULL, "moerate fit: the estimators, the least-squares fit and its certification", "moerate");
  PetscCall(ReadEstimators(PetscOptionsObject, s, run));
  PetscCall(PetscOptionsInt("-fit_block", "rows per block of the Gauss-Newton assembly", NULL, s->block, &s->block, NULL));
  PetscCall(PetscOptionsInt("-fit_hessian_rows", "form the Gauss-Newton Hessian from this many rows of the data (sub-sampled Newton; objective and gradient stay exact; the rows double at each stall of the -fit_ftol test, which stops the fit only with all rows); 0: all rows", NULL, s->hessian_rows, &s->hessian_rows, NULL));
  PetscCall(PetscOptionsInt("-fit_hessian_reuse", "least squares (trust-region types): form the Gauss-Newton Hessian at most once per this many iterations and reuse it in between (objective and gradient stay exact; at the first stall of the -fit_ftol test the fit goes on with a fresh Hessian at every iteration, and only such a stall stops it); 1: a fresh one each iteration", NULL, s->hessian_reuse, &s->hessian_reuse, NULL));
  PetscCall(PetscOptionsBool("-fit_hessian_single", "least squares: form the Gauss-Newton Hessian in single precision (ssyrk, about twice the speed of dsyrk; summed in double across chunks of rows; the objective and gradient, hence the stop and the certificate, stay in double)", NULL, s->hessian_single, &s->hessian_single, NULL));
  PetscCall(PetscOptionsBool("-fit_rows", "least squares: evaluate the model a row at a time during the fit even where blocks of rows go through BLAS (an affine-score gating with FFN or linear experts; the recorded objective and the certificate still use blocks): the same numbers to rounding, slower; to compare", NULL, s->rows, &s->rows, NULL));
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
  PetscOptionsEnd();
  PetscCall(MoeEstimatorOptionsDeclare(comm));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-sgd_epochs", &s->sgd_epochs, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-sgd_lr", &s->sgd_lr, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-sgd_batch", &s->sgd_batch, NULL));
  MoeUserCheck(s->sgd_epochs >= 1, "-sgd_epochs %" PetscInt_FMT " must be at least 1", s->sgd_epochs);
  MoeUserCheck(s->sgd_lr > 0 && PetscIsNormalReal(s->sgd_lr), "-sgd_lr %g must be a finite learning rate > 0", (double)s->sgd_lr);
  MoeUserCheck(s->sgd_batch >= 1, "-sgd_batch %" PetscInt_FMT " must be at least 1", s->sgd_batch);
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-em_max_it", &s->em_max_it, NULL));
  MoeUserCheck(s->em_max_it >= 1, "-em_max_it %" PetscInt_FMT " must be at least 1", s->em_max_it);
  PetscCall(CheckModelType(s));

  /* resolve and validate: every real option finite first (NaN passes every comparison below) */
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
  PetscCall(PetscEnumFind(MoeInputDists, dist, (PetscEnum *)&s->xdist, &set));
  MoeUserCheck(set, "-x_dist '%s' is not an input distribution: use uniform or gaussian", dist);
  PetscCall(PetscEnumFind(MoeInitTypes, init, (PetscEnum *)&s->init, &set));
  MoeUserCheck(set, "-init '%s' is not an initialisation policy: use near or random", init);
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
  if (s->truth_seed < 0) s->truth_seed = s->seed;
  for (i = 0; i < MOE_MAX_LIST; i++) s->truth_draws[i] = PetscMax(s->truth_draw, 0);
  if (s->truth_beta0_var < 0) s->truth_beta0_var = 0.01 / s->d;
  if (s->truth_beta1_var < 0) s->truth_beta1_var = 4;
  if (s->truth_expert_var < 0) s->truth_expert_var = 4;
  if (s->init_perturb < 0) s->init_perturb = 0.1 / PetscSqrtReal((PetscReal)s->d);
  if (s->init_scale < 0) s->init_scale = 1.0 / PetscSqrtReal((PetscReal)s->d);
  if (s->reference_n < 0) s->reference_n = PetscMax(10 * s->ns[s->nn - 1], 10000);
  MoeUserCheck(s->reference_n >= 1, "-reference_n %" PetscInt_FMT " must be at least 1", s->reference_n);

  /* every family can be built with these settings (checks K, tau, groups, truth file), and
     the smallest sample has more points than any fitted model has free parameters */
  for (i = 0; i < s->ngatings; i++) {
    for (PetscInt e = 0; e < s->nexperts; e++) {
      MoeModel m;
      PetscCall(MoeModelCreate(s->gatings[i], s->experts[e], s->k, s->d, opts, NULL, &m));
      MoeUserCheck(s->ns[0] > m->pfree, "-n %" PetscInt_FMT " is not larger than the %" PetscInt_FMT " free parameters of the %s x %s fit: the least-squares estimate is not determined; give larger sample sizes", s->ns[0], m->pfree, s->gatings[i], s->experts[e]);
      PetscCall(MoeModelDestroy(&m));
    }
  }
  for (i = 0; i < s->nlosses; i++) { /* a loss that applies to none of the fitted gatings measures nothing */
    PetscBool any = PETSC_FALSE;
    char      which[256] = "";
    for (PetscInt g = 0; g < s->ngatings; g++) any = (PetscBool)(any || MoeSpecLossApplies(s, i, g));
    if (any) continue;
    PetscCall(MoeLossGatingFamilies(s->losses[i], which, sizeof(which)));
    MoeUserError("-losses: %s applies to none of the fitted gatings (%s applies to %s): drop it or fit such a gating", s->losses[i], s->losses[i], which);
  }
  { /* every sample must fit in memory: refuse sizes no machine holds before allocating them */
    double bytes = 8.0 * (s->d + 1) * PetscMax(PetscMax(s->ns[s->nn - 1], s->reference_n), s->eval_n), avail = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    MoeUserCheck(bytes < avail, "the largest sample (n = %" PetscInt_FMT ", -reference_n %" PetscInt_FMT ", -eval_n %" PetscInt_FMT ") needs %.3g GB, more than this machine's %.3g GB: give smaller sizes", s->ns[s->nn - 1], s->reference_n, s->eval_n, bytes / 1e9, avail / 1e9);
  }
  PetscCall(BuildCanonicalText(s));
  *spec = s;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecDestroy(MoeSpec **s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  PetscCall(PetscFree((*s)->text));
  PetscCall(MoeTruthFileDestroy(&(*s)->truthfile));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeTruthFileDestroy(MoeTruthFile **tf)
{
  PetscInt i;

  PetscFunctionBegin;
  if (!*tf) PetscFunctionReturn(0);
  for (i = 0; i < (*tf)->n; i++) PetscCall(PetscFree((*tf)->truths[i].theta));
  PetscCall(PetscFree(*tf));
  PetscFunctionReturn(0);
}

void MoeSpecDataParams(const MoeSpec *s, MoeDataParams *p)
{
  *p = (MoeDataParams){s->d, s->xdist, s->xlo, s->xhi, s->xsd, s->noise, s->seed, s->eval_n, s->reference_n};
}

void MoeSpecInitParams(const MoeSpec *s, MoeInitParams *p)
{
  *p = (MoeInitParams){s->init, s->init_perturb, s->init_scale, s->init_starts, s->seed, 0};
}

void MoeSpecFitParams(const MoeSpec *s, MoeFitParams *p)
{
  *p = (MoeFitParams){.block = s->block, .lm_lambda = s->lm_lambda, .lm_down = s->lm_down, .lm_up = s->lm_up, .ftol = s->ftol, .ftol_window = s->ftol_window, .max_norm = s->max_norm, .max_gradient_z = s->max_gradient_z, .noise = s->noise, .em = PETSC_FALSE, .em_max_it = s->em_max_it, .hessian_rows = s->hessian_rows, .rows = s->rows, .hessian_reuse = s->hessian_reuse, .hessian_single = s->hessian_single, .certificate_suffices = PETSC_FALSE};
}

void MoeSpecSGDParams(const MoeSpec *s, MoeSGDParams *p)
{
  *p = (MoeSGDParams){s->sgd_epochs, s->sgd_batch, s->sgd_lr, s->seed};
}
