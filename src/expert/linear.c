/* Linear experts h = a^T x + b [P1, P2]: not strongly identifiable (their interaction
   with softmax gating makes rates slower than any polynomial). */
#include <moe/private/modelimpl.h>

static PetscReal Identity(PetscReal z) { return z; }
static PetscReal One(PetscReal z) { return 1; }

static PetscErrorCode MoeExpertCreate_Linear(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Identity, One));
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_Linear = {"linear", MoeExpertCreate_Linear, MOE_IDENTIFIABLE_LINEAR, PETSC_FALSE, "linear experts a^T x + b"};
