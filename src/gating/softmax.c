/* Softmax gating [P1, P2]: gate_i(x) = exp(s_i) / sum_j exp(s_j), s_i = beta1_i^T x + beta0_i.
   The gates are invariant to a common shift of the scores, so the last atom's
   (beta1, beta0) is pinned to zero. */
#include <moe/private/modelimpl.h>

static PetscErrorCode MoeGatingScores_Softmax(MoeGating g, const PetscReal *glob, const PetscReal *s, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *dfds, PetscReal *dglob)
{
  PetscInt  i;
  PetscReal sum = 0;

  PetscFunctionBegin;
  MoeSoftmax(g->k, s, gate);
  for (i = 0; i < g->k; i++) sum += gate[i] * h[i];
  *f = sum;
  if (dfds) /* df/ds_i = gate_i (h_i - f) */
    for (i = 0; i < g->k; i++) dfds[i] = gate[i] * (h[i] - sum);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_Softmax(MoeGating g)
{
  PetscFunctionBegin;
  g->ops.scores   = MoeGatingScores_Softmax;
  g->ops.pin      = MoeGatingPinLastAtom;
  PetscFunctionReturn(0);
}

const MoeGatingFamily MoeGatingFamily_Softmax = {"softmax", MoeGatingCreate_Softmax, MOE_MASS_EXP, "softmax_d1,softmax_dlin", NULL, NULL, "softmax gating [P2]: gate_i = softmax_i(beta1^T x + beta0), last atom pinned", PETSC_TRUE};
