/* ReLU FFN experts h = max(0, a^T x + b) [P1, P2]: strongly identifiable. */
#include <moe/private/modelimpl.h>

static PetscReal ReLU(PetscReal z) { return z > 0 ? z : 0; }
static PetscReal DReLU(PetscReal z) { return z > 0 ? 1 : 0; }

static PetscErrorCode MoeExpertCreate_ReLU(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, ReLU, DReLU));
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_ReLU = {"relu", MoeExpertCreate_ReLU, MOE_IDENTIFIABLE_STRONG, PETSC_TRUE, "ReLU FFN experts max(0, a^T x + b)"};
