/* Views of a model's atoms for the rooms outside the families: the Voronoi view (locations,
   biases, expert parameters), the embedding of one mixing measure into the atoms of another
   model (near starts, reference points) and the gating globals of draws and defaults. */
#include <moe/private/modelimpl.h>

PetscInt MoeModelLocationSize(MoeModel m)
{
  return m->gating->nloc;
}

PetscInt MoeModelExpertSize(MoeModel m)
{
  return m->ne + m->ns;
}

PetscErrorCode MoeModelAtoms(MoeModel m, const PetscReal *theta, PetscReal *loc, PetscReal *b0, PetscReal *eta)
{
  PetscInt i, j, w = m->ne + m->ns;

  PetscFunctionBegin;
  PetscCall((*m->gating->ops.atoms)(m->gating, theta, loc, b0));
  for (i = 0; i < m->k; i++) {
    const PetscReal *e = theta + i * m->stride + m->ng;
    PetscReal       *v = eta + i * w;
    for (j = 0; j < m->ne - 1; j++) v[j] = e[j]; /* a */
    if (m->ns) v[m->ne - 1] = e[m->ne];          /* sigma */
    v[w - 1] = e[m->ne - 1];                      /* b */
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelInitGlobals(MoeModel m, void *rng, PetscReal var1, PetscReal var0, PetscReal *theta)
{
  PetscFunctionBegin;
  if (m->nglobal && m->gating->ops.initglobals) PetscCall((*m->gating->ops.initglobals)(m->gating, rng, var1, var0, theta + m->k * m->stride));
  PetscFunctionReturn(0);
}

/* Every fitted atom copies an atom of the target through the atom map (the gating family's
   for a target of the same family, else MoeAtomMapDefault: extra atoms split true atoms 0, 1,
   ...); the c atoms that share a target atom get the family's split bias (same total gate
   mass); globals are copied from a target of the same family, else defaults.  theta is
   written only where the embedding defines it (the caller zeroes it). */
PetscErrorCode MoeModelEmbed(MoeModel m, MoeModel t, const PetscReal *ttheta, PetscReal *theta)
{
  PetscBool same;
  PetscInt *map, *count, i, j;

  PetscFunctionBegin;
  PetscCheck(t->d == m->d, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "truth and fit dimensions differ");
  same = (PetscBool)(t->gfamily == m->gfamily);
  PetscCall(PetscMalloc1(m->k, &map));
  PetscCall(PetscCalloc1(t->k, &count));
  if (same && m->gating->ops.atommap) PetscCall((*m->gating->ops.atommap)(m->gating, t->gating, map));
  else PetscCall(MoeAtomMapDefault(m->k, t->k, map));
  for (i = 0; i < m->k; i++) count[map[i]]++;
  for (i = 0; i < m->k; i++) {
    const PetscReal *ta = ttheta + map[i] * t->stride;
    PetscReal       *fa = theta + i * m->stride;
    for (j = 0; j < m->d; j++) fa[j] = ta[j];
    PetscCall((*m->gating->ops.splitbias)(m->gating, i, ta[m->d], count[map[i]], &fa[m->d]));
    if (m->ne == t->ne)
      for (j = 0; j < m->ne; j++) fa[m->ng + j] = ta[t->ng + j];
    else fa[m->ng + m->ne - 1] = ta[t->ng + t->ne - 1]; /* only b is shared */
    if (m->ns) fa[m->ng + m->ne] = t->ns ? ta[t->ng + t->ne] : 1; /* sigma: the target's, or 1 */
  }
  if (m->nglobal) {
    PetscReal *glob = theta + m->k * m->stride;
    if (m->gating->ops.initglobals) PetscCall((*m->gating->ops.initglobals)(m->gating, NULL, 0, 0, glob));
    if (same && m->gating->ops.embedglobals) PetscCall((*m->gating->ops.embedglobals)(m->gating, t->gating, ttheta + t->k * t->stride, map, glob));
  }
  PetscCall(PetscFree(map));
  PetscCall(PetscFree(count));
  PetscFunctionReturn(0);
}

/* The selection temperature of a gating with a discrete selection (top-K): *has is false for the
   others, which have nothing to anneal. */
PetscErrorCode MoeModelGetSelectionTemperature(MoeModel m, PetscBool *has, PetscReal *T)
{
  PetscFunctionBegin;
  *has = (PetscBool)(m->gating->ops.gettemperature != NULL);
  *T   = 0;
  if (*has) PetscCall((*m->gating->ops.gettemperature)(m->gating, T));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelSetSelectionTemperature(MoeModel m, PetscReal T)
{
  PetscFunctionBegin;
  if (m->gating->ops.settemperature) PetscCall((*m->gating->ops.settemperature)(m->gating, T));
  PetscFunctionReturn(0);
}
