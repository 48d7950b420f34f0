/* Linear experts h = a^T x + b [P1, P2]: not strongly identifiable (their interaction
   with softmax gating makes rates slower than any polynomial). */
#include <moemodel.h>

static PetscReal Identity(PetscReal z) { return z; }
static PetscReal One(PetscReal z) { return 1; }

PETSC_EXTERN PetscErrorCode MoeExpertCreate_Linear(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Identity, One, PETSC_FALSE));
  PetscFunctionReturn(0);
}
