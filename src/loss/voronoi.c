/* Voronoi cells of the fitted atoms around the target atoms. */
#include <moeloss.h>

PetscReal MoeDist(PetscInt n, const PetscReal *a, const PetscReal *b)
{
  PetscReal s = 0;
  PetscInt  i;
  for (i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
  return PetscSqrtReal(s);
}

/* omega_i = (loc_i, eta_i); cell[i] = argmin_j |omega_i - omega*_j| (ties: lowest j). */
PetscErrorCode MoeVoronoiCreate(const MoeLossInput *in, MoeVoronoi *v)
{
  MoeModel m = in->model, t = in->tmodel;
  PetscInt i, j;

  PetscFunctionBegin;
  PetscCheck(MoeModelLocationSize(m) == MoeModelLocationSize(t) && MoeModelExpertSize(m) == MoeModelExpertSize(t), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "Voronoi loss between %s x %s and %s x %s: the atoms have different shapes", m->gfamily->name, m->efamily->name, t->gfamily->name, t->efamily->name);
  v->k     = m->k;
  v->kstar = t->k;
  v->nloc  = MoeModelLocationSize(m);
  v->ne    = MoeModelExpertSize(m);
  PetscCall(PetscMalloc6(v->k * v->nloc, &v->loc, v->k, &v->b0, v->k * v->ne, &v->eta, v->kstar * v->nloc, &v->tloc, v->kstar, &v->tb0, v->kstar * v->ne, &v->teta));
  PetscCall(PetscMalloc1(v->k, &v->cell));
  PetscCall(PetscCalloc1(v->kstar, &v->size));
  PetscCall(MoeModelAtoms(m, in->theta, v->loc, v->b0, v->eta));
  PetscCall(MoeModelAtoms(t, in->target, v->tloc, v->tb0, v->teta));
  for (i = 0; i < v->k; i++) {
    PetscReal best = PETSC_MAX_REAL;
    v->cell[i]     = 0; /* an atom with non-finite or huge parameters is nearest to none: cell 0 */
    for (j = 0; j < v->kstar; j++) {
      PetscReal dl = MoeDist(v->nloc, v->loc + i * v->nloc, v->tloc + j * v->nloc), de = MoeDist(v->ne, v->eta + i * v->ne, v->teta + j * v->ne);
      PetscReal dd = dl * dl + de * de;
      if (dd < best) {
        best       = dd;
        v->cell[i] = j;
      }
    }
    v->size[v->cell[i]]++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeVoronoiDestroy(MoeVoronoi *v)
{
  PetscFunctionBegin;
  PetscCall(PetscFree6(v->loc, v->b0, v->eta, v->tloc, v->tb0, v->teta));
  PetscCall(PetscFree(v->cell));
  PetscCall(PetscFree(v->size));
  PetscFunctionReturn(0);
}
