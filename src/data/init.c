/* Initial points of a fit (full layout of the fitted model).

   near:   every fitted atom copies an atom of the target (G*, or G-bar for a fit whose
           families differ from the truth's, see MoeNearTarget) through the atom map; a true atom (beta1, eta) through the atom map (the
           gating family's, or MoeAtomMapDefault: extra atoms split true atoms 0, 1, ...);
           the c atoms that share a true atom get the family's split bias (same total gate
           mass); globals are copied from a truth of the same family, else defaults;
           then every free parameter gets N(0, init_perturb^2) noise.
   random: every free parameter ~ N(0, init_scale^2); globals at their defaults; the sigma of a
           Gaussian expert 1.
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

/* The reference point of a fit: the near start without perturbation, i.e. the target (G*,
   or G-bar) embedded in the fitted atoms.  With the truth's families and softmax-type
   gatings the embedding is exact; for sigmoid gating the split atoms keep the total mass
   only where beta1 = 0 (certification uses the truth's own objective, see moecertify.h). */
PetscErrorCode MoeReferencePoint(MoeModel m, const MoeTruth *target, PetscReal *theta)
{
  PetscFunctionBegin;
  PetscCall(PetscArrayzero(theta, m->p));
  PetscCall(MoeModelEmbed(m, target->model, target->theta, theta));
  PetscCall(MoeModelPinParameters(m, theta));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeInitialPoint(const MoeInitParams *ip, MoeModel m, const MoeTruth *truth, MoeStream stream, PetscInt64 n, PetscInt64 replicate, PetscInt start, PetscReal *theta)
{
  gsl_rng   *rng;
  PetscReal *lower;
  PetscInt   j;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(theta, m->p));
  PetscCall(PetscMalloc1(m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  PetscCall(MoeRngCreate(ip->seed, stream, n, replicate, ip->first + start, &rng));
  if (ip->init == MOE_INIT_NEAR) {
    PetscCall(MoeModelEmbed(m, truth->model, truth->theta, theta));
    for (j = 0; j < m->pfree; j++) theta[m->ifree[j]] += gsl_ran_gaussian_ziggurat(rng, ip->perturb);
  } else {
    PetscCall(MoeModelInitGlobals(m, NULL, 0, 0, theta));
    for (j = 0; j < m->pfree; j++) { /* bounded parameters (a temperature, a sigma) keep their default */
      PetscInt i = m->ifree[j];
      if (lower[i] == PETSC_NINFINITY) theta[i] = gsl_ran_gaussian_ziggurat(rng, ip->scale);
    }
    for (j = 0; j < m->k * m->ns; j++) theta[j * m->stride + m->ng + m->ne] = 1; /* Gaussian experts: sigma 1 */
  }
  for (j = 0; j < m->p; j++) /* keep bounded parameters feasible */
    if (lower[j] != PETSC_NINFINITY) theta[j] = PetscMax(theta[j], 2 * lower[j]);
  PetscCall(MoeModelPinParameters(m, theta));
  gsl_rng_free(rng);
  PetscCall(PetscFree(lower));
  PetscFunctionReturn(0);
}
