/* The regression error |f_Ghat - f_G*|_{L2(mu)}, by Monte Carlo on the fixed evaluation
   sample (-eval_n points of stream EVAL): sqrt(mean_r (f_Ghat(X_r) - f_G*(X_r))^2). */
#include <moeloss.h>

static PetscErrorCode MoeLoss_L2(const MoeLossInput *in, PetscReal *value)
{
  const MoeData *E = in->eval;
  PetscInt       r;
  PetscReal      s = 0, f;

  PetscFunctionBegin;
  for (r = 0; r < E->n; r++) {
    PetscCall(MoeModelEvaluate(in->model, in->theta, E->X + (size_t)r * E->d, &f));
    s += (f - E->Y[r]) * (f - E->Y[r]);
  }
  *value = PetscSqrtReal(s / E->n);
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_L2(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister("l2", MoeLoss_L2, MOE_LOSS_FUNCTION, "", "L2(mu) regression error |f_Ghat - f_G*|, Monte Carlo on -eval_n points"));
  PetscFunctionReturn(0);
}
