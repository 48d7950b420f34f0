/* Errors per parameter, not Voronoi: a fit with as many atoms as the truth (k = k*), of the truth's
   families, compared atom by atom in the same order.  The contaminated MoE's claims (arXiv
   2505.18455) are stated this way, for its one atom (beta, tau, eta, nu):
     param_beta1     |beta1 - beta1*|                       (Euclidean, over the atoms)
     param_exp_beta0 |exp(beta0) - exp(beta0*)|             (the paper's exp(tau))
     param_eta       |eta - eta*|                           (the expert's parameters, pinned ones equal)
     param_noise     |s - s*|, s the noise parameter        (sigma_i of the Gaussian MoE, nu of the contaminated)
   Atom i of the fit is atom i of the truth: with several atoms that is meaningful only when the fit
   cannot permute them (one atom, or a start and an estimate that keep the truth's order), which is
   why these losses are opt-in.  NaN where k differs from k* or the families differ. */
#include <moeloss.h>

typedef enum {
  PARAM_BETA1,
  PARAM_EXP_BETA0,
  PARAM_ETA,
  PARAM_NOISE
} ParamBlock;

static PetscErrorCode ParamError(const MoeLossInput *in, ParamBlock b, PetscReal *value)
{
  MoeModel  m = in->model, t = in->tmodel;
  PetscBool same;
  PetscReal s = 0;

  PetscFunctionBegin;
  *value = MOE_NAN;
  PetscCall(MoeModelSameFamilies(m, t, &same));
  if (!same || m->k != t->k || m->stride != t->stride) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < m->k; i++) {
    const PetscReal *a = in->theta + i * m->stride, *z = in->target + i * t->stride;
    PetscInt         lo = 0, hi = 0;
    switch (b) {
    case PARAM_BETA1:
      lo = 0, hi = m->d;
      break;
    case PARAM_EXP_BETA0: {
      PetscReal e = PetscExpReal(a[m->d]) - PetscExpReal(z[m->d]);
      s += e * e;
    } break;
    case PARAM_ETA:
      lo = m->ng, hi = m->ng + m->ne;
      break;
    case PARAM_NOISE:
      lo = m->ng + m->ne, hi = m->ng + m->ne + m->ns;
      break;
    }
    for (PetscInt j = lo; j < hi; j++) s += (a[j] - z[j]) * (a[j] - z[j]);
  }
  *value = PetscSqrtReal(s);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeLoss_ParamBeta1(const MoeLossInput *in, PetscReal *v) { return ParamError(in, PARAM_BETA1, v); }
static PetscErrorCode MoeLoss_ParamExpBeta0(const MoeLossInput *in, PetscReal *v) { return ParamError(in, PARAM_EXP_BETA0, v); }
static PetscErrorCode MoeLoss_ParamEta(const MoeLossInput *in, PetscReal *v) { return ParamError(in, PARAM_ETA, v); }

static PetscErrorCode MoeLoss_ParamNoise(const MoeLossInput *in, PetscReal *v)
{
  PetscFunctionBegin;
  *v = MOE_NAN;
  if (in->model->ns) PetscCall(ParamError(in, PARAM_NOISE, v));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_Params(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterOptIn("param_beta1", MoeLoss_ParamBeta1, MOE_LOSS_ATOMS, "|beta1 - beta1*| over the atoms, atom i against true atom i (k = k*, the truth's families)"));
  PetscCall(MoeLossRegisterOptIn("param_exp_beta0", MoeLoss_ParamExpBeta0, MOE_LOSS_ATOMS, "|exp(beta0) - exp(beta0*)| over the atoms, atom i against true atom i (the contaminated MoE's exp(tau))"));
  PetscCall(MoeLossRegisterOptIn("param_eta", MoeLoss_ParamEta, MOE_LOSS_ATOMS, "|eta - eta*| (the experts' parameters) over the atoms, atom i against true atom i"));
  PetscCall(MoeLossRegisterOptIn("param_noise", MoeLoss_ParamNoise, MOE_LOSS_ATOMS, "|s - s*| of the atoms' noise parameters (sigma of the Gaussian MoE, the variance nu of the contaminated MoE), atom i against true atom i"));
  PetscFunctionReturn(0);
}
