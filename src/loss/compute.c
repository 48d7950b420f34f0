/* All the losses of one fitted replicate. */
#include <moeloss.h>

/* values[l] for the pair's losses: NaN where a loss does not apply to the fitted gating, or
   where it needs the reference G-bar and none is given. */
PetscErrorCode MoeLossComputeAll(const MoeLossSet *set, MoeModel m, const PetscReal *theta, const MoeTruth *truth, const PetscReal *reference, const MoeData *eval, PetscReal *values)
{
  PetscInt l;

  PetscFunctionBegin;
  for (l = 0; l < set->n; l++) {
    MoeLossInput in;

    values[l] = MOE_NAN;
    if (!set->applies[l]) continue;
    in.model = m;
    in.theta = theta;
    in.r     = set->r;
    in.eval  = eval;
    in.truth = truth;
    in.ctx   = set->type[l]->ctx;
    if (set->totruth[l]) {
      in.tmodel = truth->model;
      in.target = truth->theta;
    } else {
      if (!reference) continue;
      in.tmodel = m;
      in.target = reference;
    }
    PetscCall((*set->type[l]->compute)(&in, &values[l]));
  }
  PetscFunctionReturn(0);
}
