/* Screening a truth before any work: a rate is evidence only if the truth is well posed.

   Two checks, on the evaluation sample (-eval_n inputs of stream EVAL):
   - the Fisher information J^T J / n of the truth's free parameters pins every direction
     down at the smallest n: along its weakest direction an estimate's standard deviation
     sqrt(nu / (n_min lambda_min)) is at most -truth_max_sd;
   - every hinge expert (ReLU, GELU) is active (a^T x + b > 0) on a fraction of the inputs
     in [-truth_active_min, 1 - -truth_active_min]: a hinge outside the bulk of the inputs
     leaves its expert nearly unidentified (and, active everywhere, linear).

   A drawn truth that fails is drawn again along the recorded sequence of draws of its
   truth seed (draw j uses generator index j of stream TRUTH) until one passes, for each
   expert family's truth on its own; a truth file, an explicit -truth_seed or -truth_draw that
   fails is refused, unless -allow_ill_posed. */
#include <moedata.h>

/* why[]: "" when sd <= max_sd, else the weakest direction vmin and the sd it allows at n. */
static PetscErrorCode Verdict(MoeModel m, const PetscReal *eig, const PetscReal *vmin, PetscReal sd, PetscInt n, PetscReal max_sd, char why[], size_t len)
{
  char dir[256];

  PetscFunctionBegin;
  why[0] = 0;
  if (sd <= max_sd) PetscFunctionReturn(0);
  PetscCall(MoeModelDescribeDirection(m, vmin, dir, sizeof(dir)));
  PetscCall(PetscSNPrintf(why, len, "along the weakest direction of its Fisher information (lambda_min %.2e: %s) an estimate's sd at n = %" PetscInt_FMT " is %.2g > -truth_max_sd %g", (double)eig[0], dir, n, sd >= PETSC_INFINITY ? (double)INFINITY : (double)sd, (double)max_sd));
  PetscFunctionReturn(0);
}

/* The Fisher information J^T J / n of model m at theta on the inputs E (eig: its eigenvalues, ascending): an
   estimate's sd along its weakest direction at n (noise variance noise), and, when that sd exceeds max_sd,
   why[] names the direction ("" otherwise).  The screening of truths and the identification of G-bar. */
PetscErrorCode MoeFisherCheck(MoeModel m, const PetscReal *theta, const MoeData *E, PetscReal noise, PetscInt n, PetscReal max_sd, PetscReal *eig, PetscReal *sd, char why[], size_t len)
{
  PetscReal *vmin;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(m->pfree, &vmin));
  PetscCall(MoeModelFisher(m, theta, E->n, E->X, eig, vmin));
  *sd = MoeFisherSd(noise, n, eig, m->pfree);
  PetscCall(Verdict(m, eig, vmin, *sd, n, max_sd, why, len));
  PetscCall(PetscFree(vmin));
  PetscFunctionReturn(0);
}

/* The first hinge expert of t active on too few or too many of the inputs E, in why[]. */
static PetscErrorCode CheckHingeActivity(const MoeScreenParams *sp, const MoeTruth *t, const MoeData *E, char why[], size_t len)
{
  MoeModel m = t->model;
  PetscInt i, r, j, active;

  PetscFunctionBegin;
  for (i = 0; i < m->k; i++) {
    const PetscReal *eta = t->theta + i * m->stride + m->ng;
    PetscReal        frac;
    if (!MoeModelAtomExpertFamily(m, i)->hinge) continue;
    for (r = 0, active = 0; r < E->n; r++) {
      PetscReal z = eta[m->ne - 1]; /* b is eta's last entry ([a | b], srelu's [a | c | b]) */
      for (j = 0; j < m->d; j++) z += eta[j] * E->X[(size_t)r * m->d + j];
      if (z > 0) active++;
    }
    frac = (PetscReal)active / E->n;
    if (frac < sp->active_min || frac > 1 - sp->active_min) {
      PetscCall(PetscSNPrintf(why, len, "the %s expert of atom %" PetscInt_FMT " is active on %.1f%% of the inputs, outside [%g%%, %g%%] (-truth_active_min): its hinge lies outside the bulk of the inputs", MoeModelAtomExpertFamily(m, i)->name, i, (double)(100 * frac), (double)(100 * sp->active_min), (double)(100 * (1 - sp->active_min))));
      PetscFunctionReturn(0);
    }
  }
  PetscFunctionReturn(0);
}

/* The screening of t's truth at sample size n (a truth that moves with n: that n's truth): the Fisher
   eigenvalues eig (pfree), the sd along the weakest direction at n, and why[] ("" when well posed). */
static PetscErrorCode ScreenAtN(const MoeSpec *spec, const MoeTruth *t, PetscInt n, PetscReal *eig, PetscReal *sd, char why[], size_t len)
{
  MoeModel        m = t->model;
  MoeData        *E;
  MoeDataParams   dp;
  MoeScreenParams sp;
  MoeTruth        tn;
  PetscReal      *theta;

  PetscFunctionBegin;
  MoeSpecDataParams(spec, &dp);
  dp.group   = MPI_COMM_NULL;    /* a screening sample is whole on the rank that screens */
  dp.streams = MOE_STREAMS_ROWS; /* and on one stream, so that every format screens (and keeps) the same truths */
  MoeSpecScreenParams(spec, &sp);
  PetscCall(PetscMalloc1(m->p, &theta));
  PetscCall(MoeTruthAtN(t, n, theta, &tn));
  for (PetscInt i = 0; i < m->k && m->ns; i++) { /* a drift may take a noise parameter to 0 or below at some n */
    PetscReal v = theta[i * m->stride + m->ng + m->ne];
    MoeUserCheck(v > 0, "the truth (%s) at n = %" PetscInt_FMT " has atom %" PetscInt_FMT "'s noise parameter %g: it must be > 0 at every n of the grid (its drift takes it there)", t->source, n, i, (double)v);
  }
  PetscCall(MoeDataEvaluationSample(&dp, &tn, &E));
  if (m->ns) { /* a likelihood model: the information of the likelihood, from a sample of the model itself */
    MoeData   *S;
    PetscReal *vmin;
    PetscCall(PetscMalloc1(m->pfree, &vmin));
    PetscCall(MoeDataGenerate(&dp, &tn, dp.eval_n, -1, &S));
    PetscCall(MoeModelFisherScores(m, tn.theta, S->n, S->X, S->Y, eig, vmin));
    PetscCall(MoeDataDestroy(&S));
    *sd = MoeFisherSd(1.0, n, eig, m->pfree);
    PetscCall(Verdict(m, eig, vmin, *sd, n, sp.max_sd, why, len));
    PetscCall(PetscFree(vmin));
  } else PetscCall(MoeFisherCheck(m, tn.theta, E, sp.noise, n, sp.max_sd, eig, sd, why, len));
  if (!why[0]) PetscCall(CheckHingeActivity(&sp, &tn, E, why, len));
  PetscCall(MoeDataDestroy(&E));
  PetscCall(PetscFree(theta));
  PetscFunctionReturn(0);
}

/* Screen truth t: its Fisher eigenvalues (kept in t->fisher), the sd along its weakest direction at
   the smallest n, and the verdict with the reason in t->why.  A truth that moves with n is screened
   at every n of the grid, each against its own truth (t->sd_by_n): it is well posed when every n's is. */
PetscErrorCode MoeTruthScreen(const MoeSpec *spec, MoeTruth *t)
{
  MoeModel m = t->model;

  PetscFunctionBegin;
  PetscCall(PetscFree(t->fisher));
  PetscCall(PetscFree(t->sd_by_n));
  PetscCall(PetscMalloc1(m->pfree, &t->fisher));
  PetscCall(ScreenAtN(spec, t, spec->ns[0], t->fisher, &t->sd, t->why, sizeof(t->why)));
  if (t->drift) {
    PetscReal *eig;
    PetscCall(PetscMalloc1(m->pfree, &eig));
    PetscCall(PetscMalloc1(spec->nn, &t->sd_by_n));
    t->sd_by_n[0] = t->sd;
    for (PetscInt i = 1; i < spec->nn; i++) {
      char why[sizeof(t->why)];
      PetscCall(ScreenAtN(spec, t, spec->ns[i], eig, &t->sd_by_n[i], why, sizeof(why)));
      if (!t->why[0] && why[0]) PetscCall(PetscSNPrintf(t->why, sizeof(t->why), "the truth of n = %" PetscInt_FMT " (it moves with n): %s", spec->ns[i], why));
    }
    PetscCall(PetscFree(eig));
    PetscCall(PetscFree2(t->theta_by_n, t->sizes));
    PetscCall(PetscMalloc2(spec->nn * m->p, &t->theta_by_n, spec->nn, &t->sizes));
    for (PetscInt i = 0; i < spec->nn; i++) {
      MoeTruth tn;
      t->sizes[i] = spec->ns[i];
      PetscCall(MoeTruthAtN(t, spec->ns[i], t->theta_by_n + i * m->p, &tn));
    }
    t->nsizes = spec->nn;
  }
  t->wellposed = (PetscBool)!t->why[0];
  PetscFunctionReturn(0);
}

/* Choose each truth's draw (spec->truth_draws, spec->truth_rejected) before any work: one
   truth per expert family (or the one of -truth_expert), each screened on its own.  kept (NULL: not
   wanted) receives the screened truths, which the caller destroys: they need not be built again. */
PetscErrorCode MoeTruthSelect(MoeSpec *spec, MoeTruth **kept)
{
  PetscBool   isfile = (PetscBool)(spec->truth_file[0] != 0), fixed;
  PetscInt    first  = spec->truth_draw_set ? spec->truth_draw : 0, ntruths = spec->truth_expert_family ? 1 : spec->nexperts, e, j;
  const char *culprit;

  PetscFunctionBegin;
  fixed   = (PetscBool)(isfile || spec->truth_seed_set || spec->truth_draw_set || spec->allow_ill_posed);
  culprit = isfile ? "-truth_file" : spec->truth_draw_set ? "-truth_draw" : "-truth_seed";
  for (e = 0; e < ntruths; e++) {
    PetscBool ok = PETSC_FALSE;
    char      why[1024];
    for (j = first; j < first + (fixed ? 1 : spec->truth_max_draws) && !ok; j++) {
      MoeTruth *t;
      spec->truth_draws[e] = j;
      PetscCall(MoeTruthCreate(spec, e, &t));
      PetscCall(MoeTruthScreen(spec, t));
      ok = t->wellposed;
      if (!ok) PetscCall(PetscSNPrintf(why, sizeof(why), "the %s x %s truth (%s) is ill posed: %s", t->model->gfamily->name, t->model->efamily->name, t->source, t->why));
      if (kept && (ok || j == first + (fixed ? 1 : spec->truth_max_draws) - 1)) kept[e] = t; /* the draw chosen */
      else PetscCall(MoeTruthDestroy(&t));
    }
    spec->truth_rejected[e] = j - 1 - first;
    if (kept) kept[e]->rejected = spec->truth_rejected[e];
    if (ok || spec->allow_ill_posed) continue;
    if (fixed) MoeUserError("%s: %s: choose a better-conditioned truth, or add -allow_ill_posed to measure it anyway", culprit, why);
    MoeUserError("-truth_seed %" PetscInt_FMT ": none of its first %" PetscInt_FMT " draws (-truth_max_draws) is well posed; the last: %s: change the truth's distributions (-truth_beta1_var, -truth_expert_var, -truth_regime, -d, -kstar), or add -allow_ill_posed", spec->truth_seed, spec->truth_max_draws, why);
  }
  PetscFunctionReturn(0);
}
