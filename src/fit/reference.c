/* The regime-2 reference G-bar [P1]: the best k-atom MoE of the fitted family in L2(mu),
   approximated by the least-squares fit to noise-free data f_G*(X) on a large fixed
   sample (-reference_n points from stream REFERENCE), started near the truth. */
#include <moefit.h>

PetscErrorCode MoeReferenceCompute(const MoeSpec *spec, MoeModel m, const MoeTruth *truth, PetscReal *theta, MoeFitResult *res)
{
  MoeData   *D;
  PetscReal *theta0;

  PetscFunctionBegin;
  PetscCall(MoeDataCreate(spec->reference_n, spec->d, &D));
  PetscCall(MoeDataSampleX(spec, MOE_STREAM_REFERENCE, spec->reference_n, 0, D));
  PetscCall(MoeModelEvaluateMany(truth->model, truth->theta, D->n, D->X, D->Y));
  PetscCall(PetscMalloc1(m->p, &theta0));
  PetscCall(MoeFitMultiStart(spec, m, truth, D, MOE_STREAM_REFERENCE, spec->reference_n, 0, PETSC_FALSE, theta0, theta, res));
  PetscCall(PetscFree(theta0));
  PetscCall(MoeDataDestroy(&D));
  PetscFunctionReturn(0);
}
