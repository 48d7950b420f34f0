/* The canonical spec text and its hash: every resolved setting that changes a number in the results. */
#include <moe/private/specimpl.h>

/* Is tok an option of a fit's TAO: -tao_..., or -<prefix>tao_... of an estimator's own TAO (-mle_tao_...)? */
static PetscBool IsTaoOption(const char *tok)
{
  const char *const *prefixes;
  char               name[64];

  if (!strncmp(tok, "-tao_", 5)) return PETSC_TRUE;
  if (MoeEstimatorTaoPrefixes(&prefixes)) return PETSC_FALSE;
  for (; *prefixes; prefixes++) {
    snprintf(name, sizeof(name), "-%stao_", *prefixes);
    if (!strncmp(tok, name, strlen(name))) return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

/* "-tao_..." options of the database (and estimators' prefixed ones), sorted, as "name value" lines: part of the spec. */
static PetscErrorCode AppendTaoOptions(char **text, size_t *len, size_t *cap)
{
  char   *all, *tok, *save, *lines[256];
  PetscInt n = 0, i;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetAll(NULL, &all));
  for (tok = strtok_r(all, " ", &save); tok && n < 256; tok = strtok_r(NULL, " ", &save)) {
    if (IsTaoOption(tok)) { /* its value, if any: a word that is not an option (a number may start with -) */
      char *val = NULL, *next = save, word[256], line[512];
      while (next && *next == ' ') next++;
      if (next && *next) {
        PetscCall(PetscStrncpy(word, next, PetscMin(sizeof(word), strcspn(next, " ") + 1)));
        if (word[0] != '-' || MoeLooksNumeric(word)) val = strtok_r(NULL, " ", &save);
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
  return (PetscBool)(s->nestimators == 1 && MoeEstimatorGetFamily(s->estimator[0]) == lse);
}

/* What the truth file holds, hashed (model, options, theta, drift and its rate of every truth): a resume
   against an edited file is refused, not only one against another path (format 5 on; files of format 4
   are not resumed anyway). */
static uint64_t TruthFileDigest(const MoeTruthFile *tf)
{
  uint64_t h = 0;

  for (PetscInt i = 0; i < tf->n; i++) {
    const MoeTruthRecord *r     = &tf->truths[i];
    uint64_t              part[5] = {(uint64_t)r->model, MoeHash64(r->options, strlen(r->options)), MoeHash64(r->theta, sizeof(PetscReal) * (size_t)r->p),
                                     r->drift ? MoeHash64(r->drift, sizeof(PetscReal) * (size_t)r->p) : 0, MoeHash64(&r->drift_rate, sizeof(r->drift_rate))};
    part[0] ^= h;
    h = MoeHash64(part, sizeof(part));
  }
  return h;
}

PetscErrorCode MoeSpecBuildCanonicalText(MoeSpec *s)
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
      static char v[MOE_TRUTH_OPTIONS_LEN]; /* a list as long as d (the contaminated MoE's base slopes) */
      size_t      vlen;
      PetscBool set;
      PetscCall(PetscOptionsGetString(s->opts, pre[i], *o, v, sizeof(v), &set));
      PetscCall(PetscStrlen(v, &vlen));
      MoeUserCheck(vlen + 1 < sizeof(v), "-%s%s: its value is longer than %d characters", pre[i] ? pre[i] : "", *o + 1, (int)sizeof(v) - 2);
      if (set) PetscCall(Appendf(T, &len, &cap, "-%s%s %s\n", pre[i] ? pre[i] : "", *o + 1, v));
    }
  }
  PetscCall(Appendf(T, &len, &cap, "-truth_gating %s\n-truth_expert %s\n-truth_file %s\n", s->truth_gating, s->truth_expert[0] ? s->truth_expert : "same", s->truth_file));
  if (s->truthfile) PetscCall(Appendf(T, &len, &cap, "-truth_file_digest %016llx\n", (unsigned long long)TruthFileDigest(s->truthfile)));
  PetscCall(Appendf(T, &len, &cap, "-truth_regime %" PetscInt_FMT "\n-truth_beta1_zero %" PetscInt_FMT "\n-truth_beta0_var %.17g\n-truth_beta1_var %.17g\n-truth_expert_var %.17g\n-truth_seed %" PetscInt_FMT "\n", s->truth_regime, s->truth_beta1_zero, (double)s->truth_beta0_var, (double)s->truth_beta1_var, (double)s->truth_expert_var, s->truth_seed));
  PetscCall(Appendf(T, &len, &cap, "-x_dist %s\n-x_lo %.17g\n-x_hi %.17g\n-x_sd %.17g\n-noise %.17g\n-seed %" PetscInt_FMT "\n", MoeInputDists[s->xdist], (double)s->xlo, (double)s->xhi, (double)s->xsd, (double)s->noise, s->seed));
  if (s->streams != MOE_STREAMS_ROWS) PetscCall(Appendf(T, &len, &cap, "-data_streams %s\n", MoeDataStreamsNames[s->streams])); /* only the new streams: the hashes of rows' results stay */
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
  if (s->fit_order == MOE_FIT_ORDER_CHUNKS) PetscCall(Appendf(T, &len, &cap, "-fit_order chunks\n")); /* the chunks' order, the same bits for any group size (g is not in the hash); row order adds no line, so its results keep their hashes */
  if (s->stability_replicates) PetscCall(Appendf(T, &len, &cap, "-stability_replicates %" PetscInt_FMT "\n-stability_starts %" PetscInt_FMT "\n", s->stability_replicates, s->stability_starts)); /* only when set: earlier hashes stay */
  if (s->model != MOE_MODEL_REGRESSION) PetscCall(Appendf(T, &len, &cap, "-model %s\n-truth_sigma %.17g\n", MoeModelTypes[s->model], (double)s->truth_sigma));
  if (!DefaultEstimators(s)) {
    PetscCall(JoinNames(s->estimators, s->nestimators, buf, sizeof(buf)));
    PetscCall(Appendf(T, &len, &cap, "-estimator %s\n", buf));
    for (i = 0; i < s->nestimators; i++) { /* each estimator's settings, as it states them */
      buf[0] = 0;
      PetscCall(MoeEstimatorView(s->estimator[i], buf, sizeof(buf)));
      if (buf[0]) PetscCall(Appendf(T, &len, &cap, "%s", buf));
    }
  }
  PetscCall(AppendTaoOptions(T, &len, &cap));
  PetscCall(PetscSNPrintf(s->hash, sizeof(s->hash), "%016llx", (unsigned long long)MoeHash64(s->text, len)));
  PetscFunctionReturn(0);
}
