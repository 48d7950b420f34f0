/* Tanh FFN experts h = tanh(a^T x + b) [P2]. */
#include <moe/private/modelimpl.h>

static PetscReal Tanh(PetscReal z) { return PetscTanhReal(z); }
static PetscReal DTanh(PetscReal z)
{
  PetscReal t = PetscTanhReal(z);
  return 1.0 - t * t;
}

static PetscErrorCode MoeExpertCreate_Tanh(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Tanh, DTanh));
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_Tanh = {"tanh", MoeExpertCreate_Tanh, MOE_IDENTIFIABLE_STRONG, PETSC_FALSE, "tanh FFN experts tanh(a^T x + b)"};
