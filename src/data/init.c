/* Initial points of a fit (full layout of the fitted model).

   near:   every fitted atom copies an atom of the target (G*, or G-bar for a fit whose
           families differ from the truth's, see MoeNearTarget) through the atom map; a true atom (beta1, eta) through the atom map (the
           gating family's, or MoeAtomMapDefault: extra atoms split true atoms 0, 1, ...);
           the c atoms that share a true atom get the family's split bias (same total gate
           mass); globals are copied from a truth of the same family, else defaults;
           then every free parameter gets N(0, init_perturb^2) noise.
   random: every free parameter ~ N(0, init_scale^2); globals at their defaults.
   Start s of replicate (n, r) draws from stream (seed, INIT, n, r, s): start 0 of every
   replicate is reproducible on its own, whatever the number of starts. */
#include <moedata.h>
#include <gsl/gsl_randist.h>

/* What a near start is near: the truth G* when the fit has the truth's families, else the
   reference G-bar of the fitted families (the best fit the model can reach, the measure its
   estimator converges to [P1]) once it is known. */
PetscErrorCode MoeNearTarget(MoeModel m, const MoeTruth *truth, const PetscReal *reference, MoeTruth *target)
{
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(MoeModelSameFamilies(m, truth->model, &same));
  *target = *truth;
  if (same || !reference) PetscFunctionReturn(0);
  target->model = m;
  target->theta = (PetscReal *)reference;
  PetscCall(PetscStrncpy(target->source, "reference G-bar", sizeof(target->source)));
  PetscFunctionReturn(0);
}

static PetscErrorCode NearTruth(MoeModel m, const MoeTruth *truth, PetscReal *theta)
{
  MoeModel  t    = truth->model;
  PetscBool same = PETSC_FALSE;
  PetscInt *map, *count, i, j;

  PetscFunctionBegin;
  PetscCheck(t->d == m->d, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "truth and fit dimensions differ");
  PetscCall(PetscStrcmp(t->gating->type, m->gating->type, &same));
  PetscCall(PetscMalloc1(m->k, &map));
  PetscCall(PetscCalloc1(t->k, &count));
  if (same && m->gating->ops.atommap) PetscCall((*m->gating->ops.atommap)(m->gating, t->gating, map));
  else PetscCall(MoeAtomMapDefault(m->k, t->k, map));
  for (i = 0; i < m->k; i++) count[map[i]]++;
  for (i = 0; i < m->k; i++) {
    const PetscReal *ta = truth->theta + map[i] * t->stride;
    PetscReal       *fa = theta + i * m->stride;
    for (j = 0; j < m->d; j++) fa[j] = ta[j];
    PetscCall((*m->gating->ops.splitbias)(m->gating, ta[m->d], count[map[i]], &fa[m->d]));
    if (m->ne == t->ne)
      for (j = 0; j < m->ne; j++) fa[m->ng + j] = ta[t->ng + j];
    else fa[m->ng + m->ne - 1] = ta[t->ng + t->ne - 1]; /* only b is shared */
  }
  if (m->nglobal) {
    PetscReal *glob = theta + m->k * m->stride;
    if (m->gating->ops.initglobals) PetscCall((*m->gating->ops.initglobals)(m->gating, NULL, 0, 0, glob));
    if (same && m->gating->ops.embedglobals) PetscCall((*m->gating->ops.embedglobals)(m->gating, t->gating, truth->theta + t->k * t->stride, map, glob));
  }
  PetscCall(PetscFree(map));
  PetscCall(PetscFree(count));
  PetscFunctionReturn(0);
}

/* The reference point of a fit: the near start without perturbation, i.e. the target (G*,
   or G-bar) embedded in the fitted atoms.  With the truth's families and softmax-type
   gatings the embedding is exact; for sigmoid gating the split atoms keep the total mass
   only where beta1 = 0 (certification uses the truth's own objective, see moecertify.h). */
PetscErrorCode MoeReferencePoint(MoeModel m, const MoeTruth *target, PetscReal *theta)
{
  PetscFunctionBegin;
  PetscCall(PetscArrayzero(theta, m->p));
  PetscCall(NearTruth(m, target, theta));
  PetscCall(MoeModelPinParameters(m, theta));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeInitialPoint(const MoeSpec *spec, MoeModel m, const MoeTruth *truth, MoeStream stream, PetscInt64 n, PetscInt64 replicate, PetscInt start, PetscReal *theta)
{
  gsl_rng   *rng;
  PetscReal *lower;
  PetscInt   j;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(theta, m->p));
  PetscCall(PetscMalloc1(m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  PetscCall(MoeRngCreate(spec->seed, stream, n, replicate, start, &rng));
  if (spec->init == MOE_INIT_NEAR) {
    PetscCall(NearTruth(m, truth, theta));
    for (j = 0; j < m->pfree; j++) theta[m->ifree[j]] += gsl_ran_gaussian_ziggurat(rng, spec->init_perturb);
  } else {
    if (m->nglobal && m->gating->ops.initglobals) PetscCall((*m->gating->ops.initglobals)(m->gating, NULL, 0, 0, theta + m->k * m->stride));
    for (j = 0; j < m->pfree; j++) { /* bounded parameters (a temperature) keep their default */
      PetscInt i = m->ifree[j];
      if (lower[i] == PETSC_NINFINITY) theta[i] = gsl_ran_gaussian_ziggurat(rng, spec->init_scale);
    }
  }
  for (j = 0; j < m->p; j++) /* keep bounded parameters feasible */
    if (lower[j] != PETSC_NINFINITY) theta[j] = PetscMax(theta[j], 2 * lower[j]);
  PetscCall(MoeModelPinParameters(m, theta));
  gsl_rng_free(rng);
  PetscCall(PetscFree(lower));
  PetscFunctionReturn(0);
}
