/* The registry of expert families: one line per family (its traits: MoeExpertFamily_<Name>,
   defined at the end of its file). */
#include <moemodel.h>

#define MoeExpertRegisterFamily(Name) \
  do { \
    extern const MoeExpertFamily MoeExpertFamily_##Name; \
    PetscCall(MoeExpertRegister(&MoeExpertFamily_##Name)); \
  } while (0)

static PetscBool MoeExpertRegisterAllCalled = PETSC_FALSE;

PetscErrorCode MoeExpertRegisterAll(void)
{
  PetscFunctionBegin;
  if (MoeExpertRegisterAllCalled) PetscFunctionReturn(0);
  MoeExpertRegisterAllCalled = PETSC_TRUE;
  MoeExpertRegisterFamily(ReLU);
  MoeExpertRegisterFamily(GELU);
  MoeExpertRegisterFamily(Sigmoid);
  MoeExpertRegisterFamily(Tanh);
  MoeExpertRegisterFamily(Linear);
  MoeExpertRegisterFamily(Constant);
  MoeExpertRegisterFamily(Softplus);
  MoeExpertRegisterFamily(SReLU);
  PetscFunctionReturn(0);
}
