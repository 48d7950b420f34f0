/* Tanh FFN experts h = tanh(a^T x + b) [P2]. */
#include <moemodel.h>

static PetscReal Tanh(PetscReal z) { return PetscTanhReal(z); }
static PetscReal DTanh(PetscReal z)
{
  PetscReal t = PetscTanhReal(z);
  return 1.0 - t * t;
}

PETSC_EXTERN PetscErrorCode MoeExpertCreate_Tanh(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Tanh, DTanh, PETSC_FALSE));
  PetscFunctionReturn(0);
}
