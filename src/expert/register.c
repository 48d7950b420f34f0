/* The registry of expert families: one line per family. */
#include <moemodel.h>

PETSC_EXTERN PetscErrorCode MoeExpertCreate_ReLU(MoeExpert);
PETSC_EXTERN PetscErrorCode MoeExpertCreate_GELU(MoeExpert);
PETSC_EXTERN PetscErrorCode MoeExpertCreate_Sigmoid(MoeExpert);
PETSC_EXTERN PetscErrorCode MoeExpertCreate_Tanh(MoeExpert);
PETSC_EXTERN PetscErrorCode MoeExpertCreate_Linear(MoeExpert);
PETSC_EXTERN PetscErrorCode MoeExpertCreate_Constant(MoeExpert);

static PetscBool MoeExpertRegisterAllCalled = PETSC_FALSE;

PetscErrorCode MoeExpertRegisterAll(void)
{
  PetscFunctionBegin;
  if (MoeExpertRegisterAllCalled) PetscFunctionReturn(0);
  MoeExpertRegisterAllCalled = PETSC_TRUE;
  PetscCall(MoeExpertRegister("relu", MoeExpertCreate_ReLU));
  PetscCall(MoeExpertRegister("gelu", MoeExpertCreate_GELU));
  PetscCall(MoeExpertRegister("sigmoid", MoeExpertCreate_Sigmoid));
  PetscCall(MoeExpertRegister("tanh", MoeExpertCreate_Tanh));
  PetscCall(MoeExpertRegister("linear", MoeExpertCreate_Linear));
  PetscCall(MoeExpertRegister("constant", MoeExpertCreate_Constant));
  PetscFunctionReturn(0);
}
