/* ReLU FFN experts h = max(0, a^T x + b) [P1, P2]: strongly identifiable. */
#include <moemodel.h>

static PetscReal ReLU(PetscReal z) { return z > 0 ? z : 0; }
static PetscReal DReLU(PetscReal z) { return z > 0 ? 1 : 0; }

PETSC_EXTERN PetscErrorCode MoeExpertCreate_ReLU(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, ReLU, DReLU, PETSC_TRUE));
  PetscFunctionReturn(0);
}
