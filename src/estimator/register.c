/* The registry of estimators: one line per estimator (its traits: MoeEstimatorFamily_<Name>,
   defined in its file). */
#include <moeestimator.h>

#define MoeEstimatorRegisterFamily(Name) \
  do { \
    extern const MoeEstimatorFamily MoeEstimatorFamily_##Name; \
    PetscCall(MoeEstimatorRegister(&MoeEstimatorFamily_##Name)); \
  } while (0)

static PetscBool MoeEstimatorRegisterAllCalled = PETSC_FALSE;

PetscErrorCode MoeEstimatorRegisterAll(void)
{
  PetscFunctionBegin;
  if (MoeEstimatorRegisterAllCalled) PetscFunctionReturn(0);
  MoeEstimatorRegisterAllCalled = PETSC_TRUE;
  MoeEstimatorRegisterFamily(LSE);
  MoeEstimatorRegisterFamily(SGD);
  MoeEstimatorRegisterFamily(MLE);
  MoeEstimatorRegisterFamily(EM);
  MoeEstimatorRegisterFamily(BRGN);
  PetscFunctionReturn(0);
}
