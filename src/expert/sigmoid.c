/* Sigmoid FFN experts h = 1/(1 + exp(-(a^T x + b))) [P2]. */
#include <moemodel.h>

static PetscReal Sig(PetscReal z) { return z >= 0 ? 1.0 / (1.0 + PetscExpReal(-z)) : PetscExpReal(z) / (1.0 + PetscExpReal(z)); }
static PetscReal DSig(PetscReal z)
{
  PetscReal s = Sig(z);
  return s * (1.0 - s);
}

PETSC_EXTERN PetscErrorCode MoeExpertCreate_Sigmoid(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Sig, DSig, PETSC_FALSE));
  PetscFunctionReturn(0);
}
