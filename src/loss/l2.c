/* Regression errors by Monte Carlo on the fixed evaluation sample (-eval_n points of stream
   EVAL): sqrt(mean_r (f_Ghat(X_r) - f_target(X_r))^2).
   l2:       against the function the estimator converges to: f_G* when the fit has the
             truth's families, f_G-bar otherwise (a misspecified fit cannot approach f_G*);
   l2_truth: always against f_G* (for a misspecified fit it tends to |f_G-bar - f_G*|). */
#include <moeloss.h>

static PetscErrorCode MoeLoss_L2(const MoeLossInput *in, PetscReal *value)
{
  const MoeData *E = in->eval;
  PetscInt       r;
  PetscReal      s = 0, f, ft;

  PetscFunctionBegin;
  for (r = 0; r < E->n; r++) {
    const PetscReal *x = E->X + (size_t)r * E->d;
    PetscCall(MoeModelEvaluate(in->model, in->theta, x, &f));
    PetscCall(MoeModelEvaluate(in->tmodel, in->target, x, &ft));
    s += (f - ft) * (f - ft);
  }
  *value = PetscSqrtReal(s / E->n);
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_L2(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister("l2", MoeLoss_L2, MOE_LOSS_ATOMS, PETSC_FALSE, "L2(mu) regression error |f_Ghat - f_target|, target f_G* (the fit has the truth's families) or f_G-bar, Monte Carlo on -eval_n points"));
  PetscCall(MoeLossRegister("l2_truth", MoeLoss_L2, MOE_LOSS_FUNCTION, PETSC_FALSE, "L2(mu) error |f_Ghat - f_G*| against the true function, also for misspecified fits, Monte Carlo on -eval_n points"));
  PetscFunctionReturn(0);
}
