/* The experts' parameter error, gating left out:
     experts = sum_i min_j |omega_i - omega*_j| + sum_j min_i |omega_i - omega*_j|,
   omega_i = (eta_i, sigma_i) (sigma for the Gaussian MoE), each fitted expert to its nearest
   true one and each true expert to its nearest fitted one.  For a top-1 gating the gates
   identify the scores only up to a positive factor (the selection depends on their order), so
   losses that weight atoms by exp(beta0) or compare beta1 measure that convention; this loss
   measures what the data identify.  Both sums decay like the expert parameters' errors. */
#include <moeloss.h>

static PetscErrorCode MoeLoss_Experts(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i, j;
  PetscReal  s = 0;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  for (i = 0; i < v.k; i++) {
    PetscReal best = PETSC_MAX_REAL;
    for (j = 0; j < v.kstar; j++) best = PetscMin(best, MoeDist(v.ne, v.eta + i * v.ne, v.teta + j * v.ne));
    s += best;
  }
  for (j = 0; j < v.kstar; j++) {
    PetscReal best = PETSC_MAX_REAL;
    for (i = 0; i < v.k; i++) best = PetscMin(best, MoeDist(v.ne, v.eta + i * v.ne, v.teta + j * v.ne));
    s += best;
  }
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_Experts(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterOptIn("experts", MoeLoss_Experts, MOE_LOSS_ATOMS, "experts' parameter error, gating left out: each fitted expert (eta, sigma) to its nearest true one and each true one to its nearest fitted one"));
  PetscFunctionReturn(0);
}
