/* The registry of gating families: one line per family (its traits: MoeGatingFamily_<Name>,
   defined at the end of its file). */
#include <moemodel.h>

#define MoeGatingRegisterFamily(Name) \
  do { \
    extern const MoeGatingFamily MoeGatingFamily_##Name; \
    PetscCall(MoeGatingRegister(&MoeGatingFamily_##Name)); \
  } while (0)

static PetscBool MoeGatingRegisterAllCalled = PETSC_FALSE;

PetscErrorCode MoeGatingRegisterAll(void)
{
  PetscFunctionBegin;
  if (MoeGatingRegisterAllCalled) PetscFunctionReturn(0);
  MoeGatingRegisterAllCalled = PETSC_TRUE;
  MoeGatingRegisterFamily(Sigmoid);
  MoeGatingRegisterFamily(Softmax);
  MoeGatingRegisterFamily(TopK);
  MoeGatingRegisterFamily(DTS);
  MoeGatingRegisterFamily(HSoftmax);
  MoeGatingRegisterFamily(Cosine);
  MoeGatingRegisterFamily(NSigmoid);
  MoeGatingRegisterFamily(Shared);
  PetscFunctionReturn(0);
}
