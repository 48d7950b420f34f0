/* Voronoi cells of the fitted atoms around the target atoms, and the loss registry. */
#include <moeloss.h>

static PetscFunctionList MoeLossList = NULL;
static MoeLossType       MoeLossTypes[MOE_MAX_LIST];
static const char       *MoeLossNames[MOE_MAX_LIST];
static PetscInt          MoeLossCount = 0;

PetscErrorCode MoeLossRegister(const char name[], MoeLossFn fn, MoeLossTarget target, const char gatings[], const char meaning[])
{
  PetscFunctionBegin;
  PetscCheck(MoeLossCount < MOE_MAX_LIST, PETSC_COMM_SELF, PETSC_ERR_SUP, "too many losses");
  MoeLossTypes[MoeLossCount] = (MoeLossType){fn, target, gatings, meaning};
  MoeLossNames[MoeLossCount] = name;
  PetscCall(PetscFunctionListAdd(&MoeLossList, name, (void (*)(void))fn));
  MoeLossCount++;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossGet(const char name[], const MoeLossType **type)
{
  PetscInt  i;
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(MoeLossRegisterAll());
  *type = NULL;
  for (i = 0; i < MoeLossCount; i++) {
    PetscCall(PetscStrcmp(name, MoeLossNames[i], &same));
    if (same) *type = &MoeLossTypes[i];
  }
  if (!*type) {
    char known[512];
    PetscCall(MoeLossTypesString(known, sizeof(known)));
    MoeUserError("-losses: unknown loss '%s'; choose from: %s", name, known);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossTypesString(char *buf, size_t len)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterAll());
  PetscCall(MoeFunctionListNames(MoeLossList, buf, len));
  PetscFunctionReturn(0);
}

/* Does the loss apply to fits with this gating family? */
PetscErrorCode MoeLossApplies(const MoeLossType *t, const char gating[], PetscBool *applies)
{
  char  list[256], *tok, *save;

  PetscFunctionBegin;
  *applies = PETSC_FALSE;
  if (!t->gatings[0]) {
    *applies = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscStrncpy(list, t->gatings, sizeof(list)));
  for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    PetscBool same;
    PetscCall(PetscStrcmp(tok, gating, &same));
    if (same) *applies = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

PetscReal MoeDist(PetscInt n, const PetscReal *a, const PetscReal *b)
{
  PetscReal s = 0;
  PetscInt  i;
  for (i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
  return PetscSqrtReal(s);
}

static PetscErrorCode Atoms(MoeModel m, const PetscReal *theta, PetscReal *loc, PetscReal *b0, PetscReal *eta)
{
  PetscInt i, j;

  PetscFunctionBegin;
  PetscCall((*m->gating->ops.atoms)(m->gating, theta, loc, b0));
  for (i = 0; i < m->k; i++)
    for (j = 0; j < m->ne; j++) eta[i * m->ne + j] = theta[i * m->stride + m->ng + j];
  PetscFunctionReturn(0);
}

/* omega_i = (loc_i, eta_i); cell[i] = argmin_j |omega_i - omega*_j| (ties: lowest j). */
PetscErrorCode MoeVoronoiCreate(const MoeLossInput *in, MoeVoronoi *v)
{
  MoeModel m = in->model, t = in->tmodel;
  PetscInt i, j;

  PetscFunctionBegin;
  PetscCheck(m->gating->nloc == t->gating->nloc && m->ne == t->ne, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "Voronoi loss between %s x %s and %s x %s: the atoms have different shapes", m->gating->type, m->expert->type, t->gating->type, t->expert->type);
  v->k     = m->k;
  v->kstar = t->k;
  v->nloc  = m->gating->nloc;
  v->ne    = m->ne;
  PetscCall(PetscMalloc6(v->k * v->nloc, &v->loc, v->k, &v->b0, v->k * v->ne, &v->eta, v->kstar * v->nloc, &v->tloc, v->kstar, &v->tb0, v->kstar * v->ne, &v->teta));
  PetscCall(PetscMalloc1(v->k, &v->cell));
  PetscCall(PetscCalloc1(v->kstar, &v->size));
  PetscCall(Atoms(m, in->theta, v->loc, v->b0, v->eta));
  PetscCall(Atoms(t, in->target, v->tloc, v->tb0, v->teta));
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
