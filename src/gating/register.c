/* The registry of gating families: one line per family. */
#include <moemodel.h>

PETSC_EXTERN PetscErrorCode MoeGatingCreate_Sigmoid(MoeGating);
PETSC_EXTERN PetscErrorCode MoeGatingCreate_Softmax(MoeGating);
PETSC_EXTERN PetscErrorCode MoeGatingCreate_TopK(MoeGating);
PETSC_EXTERN PetscErrorCode MoeGatingCreate_DTS(MoeGating);
PETSC_EXTERN PetscErrorCode MoeGatingCreate_HSoftmax(MoeGating);

const char *const MoeGatingOptionNames[] = {"-topk_K", "-dts_tau", "-dts_fit_tau", "-hsoftmax_groups", NULL};

static PetscBool MoeGatingRegisterAllCalled = PETSC_FALSE;

PetscErrorCode MoeGatingRegisterAll(void)
{
  PetscFunctionBegin;
  if (MoeGatingRegisterAllCalled) PetscFunctionReturn(0);
  MoeGatingRegisterAllCalled = PETSC_TRUE;
  PetscCall(MoeGatingRegister("sigmoid", MoeGatingCreate_Sigmoid));
  PetscCall(MoeGatingRegister("softmax", MoeGatingCreate_Softmax));
  PetscCall(MoeGatingRegister("topk", MoeGatingCreate_TopK));
  PetscCall(MoeGatingRegister("dts", MoeGatingCreate_DTS));
  PetscCall(MoeGatingRegister("hsoftmax", MoeGatingCreate_HSoftmax));
  PetscFunctionReturn(0);
}
