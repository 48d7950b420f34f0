/* The softmax-gating Voronoi losses of P2 / ICML 2024, G = sum_i exp(beta0_i) delta_(beta1_i, eta_i):
   D1   = sum_j |sum_{A_j} exp(b0_i) - exp(b0*_j)|
        + sum_{|A_j|=1} sum_{A_j} exp(b0_i) (|Dbeta1| + |Deta|)
        + sum_{|A_j|>1} sum_{A_j} exp(b0_i) (|Dbeta1|^2 + |Deta|^2)
   Dlin = the same with exponent 1 in every cell: it decays like the parameter errors
          themselves (n^-1/4 for the atoms of over-specified cells), the loss to compare
          with sigmoid_d3 in P1's Figure 1. */
#include <moeloss.h>

static PetscErrorCode SoftmaxLoss(const MoeLossInput *in, PetscBool squares, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i, j;
  PetscReal  s = 0;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  for (j = 0; j < v.kstar; j++) {
    PetscReal mass = 0;
    for (i = 0; i < v.k; i++)
      if (v.cell[i] == j) mass += PetscExpReal(v.b0[i]);
    s += PetscAbsReal(mass - PetscExpReal(v.tb0[j]));
  }
  for (i = 0; i < v.k; i++) {
    PetscInt  j  = v.cell[i];
    PetscReal db = MoeDist(v.nloc, v.loc + i * v.nloc, v.tloc + j * v.nloc), de = MoeDist(v.ne, v.eta + i * v.ne, v.teta + j * v.ne);
    s += PetscExpReal(v.b0[i]) * (v.size[j] == 1 || !squares ? db + de : db * db + de * de);
  }
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeLoss_SoftmaxD1(const MoeLossInput *in, PetscReal *value)
{
  PetscFunctionBegin;
  PetscCall(SoftmaxLoss(in, PETSC_TRUE, value));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeLoss_SoftmaxDlin(const MoeLossInput *in, PetscReal *value)
{
  PetscFunctionBegin;
  PetscCall(SoftmaxLoss(in, PETSC_FALSE, value));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_Softmax(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister("softmax_d1", MoeLoss_SoftmaxD1, MOE_LOSS_ATOMS, PETSC_TRUE, "P2 Voronoi loss D1 (softmax-type gating)"));
  PetscCall(MoeLossRegister("softmax_dlin", MoeLoss_SoftmaxDlin, MOE_LOSS_ATOMS, PETSC_TRUE, "softmax Voronoi loss with exponent 1 in every cell (parameter-error rate)"));
  PetscFunctionReturn(0);
}
