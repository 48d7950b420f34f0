/* GELU FFN experts h = z Phi(z), z = a^T x + b, Phi the standard normal CDF (the exact
   erf form, not the tanh approximation) [P1, P2]. */
#include <moe/private/modelimpl.h>

static PetscReal GELU(PetscReal z) { return 0.5 * z * (1.0 + erf(z / PETSC_SQRT2)); }
static PetscReal DGELU(PetscReal z) { return 0.5 * (1.0 + erf(z / PETSC_SQRT2)) + z * PetscExpReal(-0.5 * z * z) / PetscSqrtReal(2.0 * PETSC_PI); }

static PetscErrorCode MoeExpertCreate_GELU(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, GELU, DGELU));
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_GELU = {"gelu", MoeExpertCreate_GELU, MOE_IDENTIFIABLE_STRONG, PETSC_TRUE, "GELU FFN experts z Phi(z), z = a^T x + b"};
