/* The registry of losses: one line per loss file. */
#include <moeloss.h>

PETSC_EXTERN PetscErrorCode MoeLossRegister_L2(void);
PETSC_EXTERN PetscErrorCode MoeLossRegister_Sigmoid(void);
PETSC_EXTERN PetscErrorCode MoeLossRegister_Softmax(void);
PETSC_EXTERN PetscErrorCode MoeLossRegister_TopK(void);
PETSC_EXTERN PetscErrorCode MoeLossRegister_Experts(void);
PETSC_EXTERN PetscErrorCode MoeLossRegister_Cells(void);
PETSC_EXTERN PetscErrorCode MoeLossRegister_Params(void);

static PetscBool MoeLossRegisterAllCalled = PETSC_FALSE;

PetscErrorCode MoeLossRegisterAll(void)
{
  PetscFunctionBegin;
  if (MoeLossRegisterAllCalled) PetscFunctionReturn(0);
  MoeLossRegisterAllCalled = PETSC_TRUE;
  PetscCall(MoeLossRegister_L2());
  PetscCall(MoeLossRegister_Sigmoid());
  PetscCall(MoeLossRegister_Softmax());
  PetscCall(MoeLossRegister_TopK());
  PetscCall(MoeLossRegister_Experts());
  PetscCall(MoeLossRegister_Cells());
  PetscCall(MoeLossRegister_Params());
  PetscFunctionReturn(0);
}
