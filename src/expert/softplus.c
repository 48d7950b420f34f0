/* Softplus FFN experts h = log(1 + exp(a^T x + b)): a smooth ReLU.  Analytic and not a
   polynomial, like GELU and sigmoid, so strongly identifiable in P1's sense (Def. 1: the
   expert, its derivatives in eta and their products with x are linearly independent). */
#include <moe/private/modelimpl.h>

/* log1p(exp(z)) written so that exp() never overflows */
static PetscReal Softplus(PetscReal z) { return z > 0 ? z + log1p(PetscExpReal(-z)) : log1p(PetscExpReal(z)); }
static PetscReal DSoftplus(PetscReal z) { return z >= 0 ? 1.0 / (1.0 + PetscExpReal(-z)) : PetscExpReal(z) / (1.0 + PetscExpReal(z)); }

static PetscErrorCode MoeExpertCreate_Softplus(MoeExpert e)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertSetUpFFN(e, Softplus, DSoftplus));
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_Softplus = {"softplus", MoeExpertCreate_Softplus, MOE_IDENTIFIABLE_STRONG, PETSC_FALSE, "softplus FFN experts log(1 + exp(a^T x + b))"};
