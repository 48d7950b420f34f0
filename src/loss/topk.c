/* The top-K sparse softmax Voronoi loss of P3, adapted to regression experts eta = (a, b).
   Cell term, for target atom j:
     T_j = |sum_{A_j} exp(b0_i) - exp(b0*_j)|
         + sum_{A_j} exp(b0_i) (|Dbeta1|^rb + |Da|^(rb/2) + |Db|^rb),
   rb = 1 and exponent 1 on a for |A_j| = 1 (the exactly-specified loss D1), and
   rb = rbar(|A_j|) for |A_j| >= 2 with rbar(2) = 4, rbar(3) = 6 (P3), extended as
   rbar(m) = 2m.  The loss is the maximum over K-subsets of target atoms of the sum of
   their T_j, i.e. the sum of the K largest T_j, K the fitted model's top-K. */
#include <moeloss.h>

static PetscErrorCode MoeLoss_TopK(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i, j, c, K = MoeModelActiveAtoms(in->model);
  PetscReal *T, s = 0;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  PetscCall(PetscCalloc1(v.kstar, &T));
  for (j = 0; j < v.kstar; j++) T[j] = -PetscExpReal(v.tb0[j]);
  for (i = 0; i < v.k; i++) T[v.cell[i]] += PetscExpReal(v.b0[i]);
  for (j = 0; j < v.kstar; j++) T[j] = PetscAbsReal(T[j]);
  for (i = 0; i < v.k; i++) {
    PetscInt         j  = v.cell[i], m = v.size[j];
    const PetscReal *e = v.eta + i * v.ne, *te = v.teta + j * v.ne;
    PetscReal        rb = m == 1 ? 1 : 2.0 * m, ra = m == 1 ? 1 : m;
    PetscReal        db = MoeDist(v.nloc, v.loc + i * v.nloc, v.tloc + j * v.nloc);
    PetscReal        da = MoeDist(v.ne - 1, e, te), dbb = PetscAbsReal(e[v.ne - 1] - te[v.ne - 1]);
    T[j] += PetscExpReal(v.b0[i]) * (PetscPowReal(db, rb) + (v.ne > 1 ? PetscPowReal(da, ra) : 0) + PetscPowReal(dbb, rb));
  }
  PetscCall(PetscSortReal(v.kstar, T));
  for (c = 0; c < PetscMin(K, v.kstar); c++) s += T[v.kstar - 1 - c];
  PetscCall(PetscFree(T));
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_TopK(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister("topk", MoeLoss_TopK, MOE_LOSS_ATOMS, PETSC_TRUE, "P3 top-K Voronoi loss (exact cells linear, over-specified cells with exponents rbar(|A_j|))"));
  PetscFunctionReturn(0);
}
