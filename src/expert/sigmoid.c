/* Sigmoid FFN experts h = 1/(1 + exp(-(a^T x + b))) [P2]. */
#include <moe/private/modelimpl.h>

static PetscReal Sig(PetscReal z) { return z >= 0 ? 1.0 / (1.0 + PetscExpReal(-z)) : PetscExpReal(z) / (1.0 + PetscExpReal(z)); }
static PetscReal DSig(PetscReal z)
{
  PetscReal s = Sig(z);
  return s * (1.0 - s);
}

static PetscErrorCode MoeExpertCreate_Sigmoid(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Sig, DSig));
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_Sigmoid = {"sigmoid", MoeExpertCreate_Sigmoid, MOE_IDENTIFIABLE_STRONG, PETSC_FALSE, "sigmoid FFN experts 1/(1 + exp(-(a^T x + b)))"};
