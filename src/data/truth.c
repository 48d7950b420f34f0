/* The true mixing measure G*: drawn from the distributions of P1 (App. C) from a
   recorded seed, or read from a file (HDF5 written by moerate, or YAML). */
#include <moedata.h>
#include <gsl/gsl_randist.h>

/* Draw theta* atom by atom, always in the same order and always every value
   (beta1 (d), beta0, a (d), b), so that a truth with other families or another regime
   shares its random numbers (draw j of a seed: generator index j, see src/data/screen.c):
     beta1* ~ N(0, beta1_var I) (0 in regime 1, and for the first truth_beta1_zero atoms),
     beta0* ~ N(0, beta0_var), a* ~ N(0, expert_var I), b* ~ N(0, expert_var).
   Pinned entries of softmax-type truths are then set to zero. */
static PetscErrorCode MoeTruthDraw(const MoeSpec *spec, PetscInt draw, MoeTruth *t)
{
  MoeModel  m = t->model;
  gsl_rng  *rng;
  PetscInt  i, j, d = m->d;
  PetscReal s1 = PetscSqrtReal(spec->truth_beta1_var), s0 = PetscSqrtReal(spec->truth_beta0_var), se = PetscSqrtReal(spec->truth_expert_var);

  PetscFunctionBegin;
  PetscCall(MoeRngCreate(spec->truth_seed, MOE_STREAM_TRUTH, 0, 0, draw, &rng));
  for (i = 0; i < m->k; i++) {
    PetscReal *atom = t->theta + i * m->stride, a[1024], b;
    PetscBool  zero = (PetscBool)(spec->truth_regime == 1 || i < spec->truth_beta1_zero);
    for (j = 0; j < d; j++) {
      PetscReal z = gsl_ran_gaussian_ziggurat(rng, 1.0);
      atom[j]     = zero ? 0 : s1 * z;
    }
    atom[d] = s0 * gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (j = 0; j < d; j++) a[j] = se * gsl_ran_gaussian_ziggurat(rng, 1.0);
    b = se * gsl_ran_gaussian_ziggurat(rng, 1.0);
    if (m->ne == d + 1 || m->ne == d + 2) { /* [a | b], or srelu's [a | c | b]: b is eta's last entry */
      for (j = 0; j < d; j++) atom[d + 1 + j] = a[j];
      if (m->ne == d + 2) atom[2 * d + 1] = 1; /* srelu's outer weight c: no draw, the streams stay those of the other families */
      atom[d + m->ne] = b;
    } else atom[d + 1] = b;
    if (m->ns) atom[m->ng + m->ne] = spec->truth_sigma; /* Gaussian MoE: no draw, the streams stay those of regression truths */
  }
  PetscCall(MoeModelInitGlobals(m, rng, spec->truth_regime == 1 ? 0 : spec->truth_beta1_var, spec->truth_beta0_var, t->theta));
  PetscCall(MoeModelPinParameters(m, t->theta));
  gsl_rng_free(rng);
  PetscCall(PetscSNPrintf(t->source, sizeof(t->source), "drawn: regime %" PetscInt_FMT ", truth_seed %" PetscInt_FMT ", draw %" PetscInt_FMT, spec->truth_regime, spec->truth_seed, draw));
  PetscFunctionReturn(0);
}

/* A truth read from a file: every value finite, and the entries a softmax-type gating pins
   (the last atom's scores) zero: the losses compare atoms in the pinned parametrisation, so a
   shifted truth would give wrong losses without a word. */
static PetscErrorCode CheckTruthValues(const char path[], MoeModel m, const PetscReal *theta)
{
  PetscInt i;
  char     name[64];

  PetscFunctionBegin;
  for (i = 0; i < m->p; i++) {
    if (PetscIsInfOrNanReal(theta[i])) {
      PetscCall(MoeModelParameterName(m, i, name, sizeof(name)));
      MoeUserError("-truth_file %s: theta[%" PetscInt_FMT "] (%s) is %g: every value must be finite", path, i, name, (double)theta[i]);
    }
    if (m->pinned[i] && theta[i] != 0) {
      PetscCall(MoeModelParameterName(m, i, name, sizeof(name)));
      MoeUserError("-truth_file %s: theta[%" PetscInt_FMT "] (%s) is %g, but %s gating pins it to 0: subtract the pinned atom's scores from every atom's (softmax is invariant to the shift)", path, i, name, (double)theta[i], m->gfamily->name);
    }
    if (m->ns && i < m->k * m->stride && i % m->stride == m->ng + m->ne && !(theta[i] > 0)) {
      PetscCall(MoeModelParameterName(m, i, name, sizeof(name)));
      MoeUserError("-truth_file %s: theta[%" PetscInt_FMT "] (%s) is %g: an expert's noise parameter must be > 0", path, i, name, (double)theta[i]);
    }
  }
  PetscFunctionReturn(0);
}

/* A truth's drift: finite, zero where the model pins (the pinned value is the parametrisation's), with a
   rate > 0 (a truth that approaches its limit); YAML and HDF5 truth files alike. */
static PetscErrorCode CheckDrift(const char path[], MoeModel m, const PetscReal *drift, PetscReal rate)
{
  char name[64];

  PetscFunctionBegin;
  MoeUserCheck(rate > 0 && PetscIsNormalReal(rate), "-truth_file %s: drift_rate %g must be > 0 (theta*(n) = theta + n^-drift_rate drift)", path, (double)rate);
  for (PetscInt i = 0; i < m->p; i++) {
    MoeUserCheck(!PetscIsInfOrNanReal(drift[i]), "-truth_file %s: drift[%" PetscInt_FMT "] is %g: every value must be finite", path, i, (double)drift[i]);
    if (m->pinned[i] && drift[i] != 0) {
      PetscCall(MoeModelParameterName(m, i, name, sizeof(name)));
      MoeUserError("-truth_file %s: drift[%" PetscInt_FMT "] (%s) is %g, but the model pins that parameter: give 0", path, i, name, (double)drift[i]);
    }
  }
  PetscFunctionReturn(0);
}

/* The record of the truth file for the fits of expert index e: its only truth, or the one
   of the truth's expert family. */
static PetscErrorCode TruthFileRecord(const MoeSpec *spec, PetscInt e, const MoeTruthRecord **rec)
{
  const MoeTruthFile    *tf     = spec->truthfile;
  const MoeExpertFamily *expert = spec->truth_expert_family ? spec->truth_expert_family : spec->expert_families[e];
  PetscInt               i;

  PetscFunctionBegin;
  *rec = NULL;
  if (tf->n == 1) *rec = &tf->truths[0];
  for (i = 0; i < tf->n && !*rec; i++)
    if (tf->truths[i].expert == expert) *rec = &tf->truths[i];
  MoeUserCheck(*rec, "-truth_file %s holds several truths but none for expert '%s': set -truth_expert to one of its /truth groups", tf->path, expert->name);
  PetscFunctionReturn(0);
}

/* The truth for the fits of expert index e of the spec. */
PetscErrorCode MoeTruthCreate(const MoeSpec *spec, PetscInt e, MoeTruth **truth)
{
  MoeTruth *t;

  PetscFunctionBegin;
  PetscCall(PetscNew(&t));
  if (spec->truthfile) {
    const MoeTruthRecord *r;
    PetscOptions          fopts;

    PetscCall(TruthFileRecord(spec, e, &r));
    PetscCall(PetscOptionsCreate(&fopts));
    PetscCall(PetscOptionsInsertString(fopts, r->options));
    PetscCall(MoeModelCreate(r->gating->name, r->expert->name, r->kstar, r->d, fopts, NULL, &t->model));
    PetscCall(PetscOptionsDestroy(&fopts));
    MoeUserCheck(r->p == t->model->p, "-truth_file %s: theta has %" PetscInt_FMT " values but a %s x %s truth with k*=%" PetscInt_FMT ", d=%" PetscInt_FMT " has %" PetscInt_FMT, spec->truth_file, r->p, r->gating->name, r->expert->name, r->kstar, r->d, t->model->p);
    PetscCall(PetscMalloc1(r->p, &t->theta));
    PetscCall(PetscArraycpy(t->theta, r->theta, r->p));
    PetscCall(CheckTruthValues(spec->truth_file, t->model, t->theta));
    if (r->drift) {
      PetscCall(CheckDrift(spec->truth_file, t->model, r->drift, r->drift_rate));
      PetscCall(PetscMalloc1(r->p, &t->drift));
      PetscCall(PetscArraycpy(t->drift, r->drift, r->p));
      t->drift_rate = r->drift_rate;
    }
    PetscCall(PetscSNPrintf(t->source, sizeof(t->source), "file %s", spec->truth_file));
  } else {
    const char *expert = spec->truth_expert_family ? spec->truth_expert_family->name : spec->expert_families[e]->name;
    PetscInt    ti     = MoeSpecTruthIndex(spec, e);
    PetscCall(MoeModelCreate(spec->truth_gating_family->name, expert, spec->kstar, spec->d, spec->opts, "truth_", &t->model));
    PetscCall(PetscCalloc1(t->model->p, &t->theta));
    t->draw     = spec->truth_draws[ti];
    t->rejected = spec->truth_rejected[ti];
    PetscCall(MoeTruthDraw(spec, t->draw, t));
  }
  *truth = t;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeTruthDestroy(MoeTruth **t)
{
  PetscFunctionBegin;
  if (!*t) PetscFunctionReturn(0);
  PetscCall(PetscFree((*t)->fisher));
  PetscCall(PetscFree((*t)->drift));
  PetscCall(PetscFree((*t)->sd_by_n));
  PetscCall(PetscFree2((*t)->theta_by_n, (*t)->sizes));
  PetscCall(MoeModelDestroy(&(*t)->model));
  PetscCall(PetscFree((*t)->theta));
  PetscCall(PetscFree(*t));
  PetscFunctionReturn(0);
}

PetscReal MoeTruthShift(const MoeTruth *t, PetscInt64 n)
{
  return t->drift ? PetscPowReal((PetscReal)n, -t->drift_rate) : 0;
}

PetscErrorCode MoeTruthAtN(const MoeTruth *t, PetscInt64 n, PetscReal *theta, MoeTruth *tn)
{
  PetscReal c = MoeTruthShift(t, n);

  PetscFunctionBegin;
  *tn        = *t;
  tn->theta  = theta;
  tn->fisher = NULL;
  tn->sd_by_n = NULL;
  tn->theta_by_n = NULL;
  tn->sizes      = NULL;
  tn->drift  = NULL; /* a view: nothing of it is freed, and it does not move again */
  for (PetscInt i = 0; i < t->model->p; i++) theta[i] = t->theta[i] + (t->drift ? c * t->drift[i] : 0);
  PetscFunctionReturn(0);
}
