/* Input-independent experts h = b [P1]: eta = (b), one parameter per expert. */
#include <moemodel.h>

static PetscErrorCode MoeExpertEvaluate_Constant(MoeExpert e, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh)
{
  PetscFunctionBegin;
  *h = eta[0];
  if (dh) dh[0] = 1;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeExpertCreate_Constant(MoeExpert e)
{
  PetscFunctionBegin;
  e->ne           = 1;
  e->ops.evaluate = MoeExpertEvaluate_Constant;
  PetscFunctionReturn(0);
}
