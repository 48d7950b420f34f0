/* All the spec's losses of one fitted replicate. */
#include <moeloss.h>

/* values[l] for the spec's losses: NaN where a loss does not apply to the fitted gating,
   or where it needs the reference G-bar and none is given. */
PetscErrorCode MoeLossComputeAll(const MoeSpec *s, MoeModel m, const char expert[], const PetscReal *theta, const MoeTruth *truth, const PetscReal *reference, const MoeData *eval, PetscReal *values)
{
  PetscInt l;

  PetscFunctionBegin;
  for (l = 0; l < s->nlosses; l++) {
    const MoeLossType *t;
    PetscBool          applies, totruth;
    MoeLossInput       in;

    values[l] = MOE_NAN;
    PetscCall(MoeLossGet(s->losses[l], &t));
    PetscCall(MoeLossApplies(t, m->gating->type, &applies));
    if (!applies) continue;
    PetscCall(MoeSpecLossTargetIsTruth(s, s->losses[l], m->gating->type, expert, &totruth));
    in.model = m;
    in.theta = theta;
    in.r     = s->loss_r;
    in.eval  = eval;
    in.truth = truth;
    if (totruth || t->target == MOE_LOSS_FUNCTION) {
      in.tmodel = truth->model;
      in.target = truth->theta;
    } else {
      if (!reference) continue;
      in.tmodel = m;
      in.target = reference;
    }
    PetscCall((*t->compute)(&in, &values[l]));
  }
  PetscFunctionReturn(0);
}
