/* Input-independent experts h = b [P1]: eta = (b), one parameter per expert. */
#include <moe/private/modelimpl.h>

static PetscErrorCode MoeExpertEvaluate_Constant(MoeExpert e, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh)
{
  PetscFunctionBegin;
  *h = eta[0];
  if (dh) dh[0] = 1;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeExpertCreate_Constant(MoeExpert e)
{
  PetscFunctionBegin;
  e->ne           = 1;
  e->ops.evaluate = MoeExpertEvaluate_Constant;
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_Constant = {"constant", MoeExpertCreate_Constant, MOE_IDENTIFIABLE_CONSTANT, PETSC_FALSE, "input-independent experts b"};
