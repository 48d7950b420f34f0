/* The sigmoid-gating Voronoi losses of P1.  With Delta = fitted atom i - target atom j,
   i in A_j, and "flat" cells those whose target has beta1*_j = 0 (Regime 1):
   D1   = sum_{flat j} |sum_{A_j} sig(b0_i) - sig(b0*_j)|
        + sum_{flat j} sum_{A_j} (|Dbeta1|^2 + |Deta|^2)
        + sum_{other j} sum_{A_j} (|Dbeta1| + |Dbeta0| + |Deta|)
   D2,r = sum_{flat j} |sum_{A_j} sig(b0_i) - sig(b0*_j)|
        + sum_j sum_{A_j} (|Dbeta1|^r + |Da|^r + |Db|^r) + sum_{|A_j|=1} |Dbeta0|^r
   D3   = sum_j sum_{A_j} (|Dbeta0| + |Dbeta1| + |Deta|)   against the reference G-bar. */
#include <moeloss.h>

static PetscReal Sig(PetscReal z) { return z >= 0 ? 1.0 / (1.0 + PetscExpReal(-z)) : PetscExpReal(z) / (1.0 + PetscExpReal(z)); }

static PetscBool Flat(const MoeVoronoi *v, PetscInt j)
{
  PetscInt l;
  for (l = 0; l < v->nloc; l++)
    if (v->tloc[j * v->nloc + l] != 0) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* sum over flat cells of |fitted sigmoid mass - target sigmoid mass| */
static PetscReal MassTerm(const MoeVoronoi *v)
{
  PetscReal s = 0;
  PetscInt  i, j;
  for (j = 0; j < v->kstar; j++) {
    PetscReal mass = 0;
    if (!Flat(v, j)) continue;
    for (i = 0; i < v->k; i++)
      if (v->cell[i] == j) mass += Sig(v->b0[i]);
    s += PetscAbsReal(mass - Sig(v->tb0[j]));
  }
  return s;
}

static PetscErrorCode MoeLoss_SigmoidD1(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i;
  PetscReal  s;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  s = MassTerm(&v);
  for (i = 0; i < v.k; i++) {
    PetscInt  j  = v.cell[i];
    PetscReal db = MoeDist(v.nloc, v.loc + i * v.nloc, v.tloc + j * v.nloc), de = MoeDist(v.ne, v.eta + i * v.ne, v.teta + j * v.ne);
    if (Flat(&v, j)) s += db * db + de * de;
    else s += db + PetscAbsReal(v.b0[i] - v.tb0[j]) + de;
  }
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeLoss_SigmoidD2(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i;
  PetscReal  s, r = in->r;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  s = MassTerm(&v);
  for (i = 0; i < v.k; i++) {
    PetscInt        j  = v.cell[i];
    const PetscReal *e = v.eta + i * v.ne, *te = v.teta + j * v.ne;
    PetscReal        db = MoeDist(v.nloc, v.loc + i * v.nloc, v.tloc + j * v.nloc);
    PetscReal        da = MoeDist(v.ne - 1, e, te), dbb = PetscAbsReal(e[v.ne - 1] - te[v.ne - 1]);
    s += PetscPowReal(db, r) + (v.ne > 1 ? PetscPowReal(da, r) : 0) + PetscPowReal(dbb, r);
    if (v.size[j] == 1) s += PetscPowReal(PetscAbsReal(v.b0[i] - v.tb0[j]), r);
  }
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeLoss_SigmoidD3(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i;
  PetscReal  s = 0;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  for (i = 0; i < v.k; i++) {
    PetscInt j = v.cell[i];
    s += PetscAbsReal(v.b0[i] - v.tb0[j]) + MoeDist(v.nloc, v.loc + i * v.nloc, v.tloc + j * v.nloc) + MoeDist(v.ne, v.eta + i * v.ne, v.teta + j * v.ne);
  }
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_Sigmoid(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister("sigmoid_d1", MoeLoss_SigmoidD1, MOE_LOSS_ATOMS, PETSC_TRUE, "P1 Voronoi loss D1 (sigmoid gating, strongly identifiable experts)"));
  PetscCall(MoeLossRegister("sigmoid_d2", MoeLoss_SigmoidD2, MOE_LOSS_ATOMS, PETSC_TRUE, "P1 Voronoi loss D2,r (sigmoid gating, non-identifiable experts; r = -loss_r)"));
  PetscCall(MoeLossRegister("sigmoid_d3", MoeLoss_SigmoidD3, MOE_LOSS_REFERENCE, PETSC_TRUE, "P1 Voronoi loss D3 against the reference G-bar (Regime 2)"));
  PetscFunctionReturn(0);
}
