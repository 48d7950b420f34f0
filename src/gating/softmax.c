/* Softmax gating [P1, P2]: gate_i(x) = exp(s_i) / sum_j exp(s_j), s_i = beta1_i^T x + beta0_i.
   The gates are invariant to a common shift of the scores, so the last atom's
   (beta1, beta0) is pinned to zero. */
#include <moe/private/modelimpl.h>

static PetscErrorCode MoeGatingEvaluate_Softmax(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  PetscInt  i, j, d = g->d;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    const PetscReal *b1 = theta + i * g->stride;
    PetscReal        s  = b1[d];
    for (j = 0; j < d; j++) s += b1[j] * x[j];
    gate[i] = s;
  }
  MoeSoftmax(g->k, gate, gate);
  for (i = 0; i < g->k; i++) sum += gate[i] * h[i];
  *f = sum;
  if (J) { /* df/ds_i = gate_i (h_i - f) */
    for (i = 0; i < g->k; i++) {
      PetscReal *Ji = J + i * g->stride, dfds = gate[i] * (h[i] - sum);
      for (j = 0; j < d; j++) Ji[j] = dfds * x[j];
      Ji[d] = dfds;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_Softmax(MoeGating g)
{
  PetscFunctionBegin;
  g->ops.evaluate = MoeGatingEvaluate_Softmax;
  g->ops.pin      = MoeGatingPinLastAtom;
  PetscFunctionReturn(0);
}

const MoeGatingFamily MoeGatingFamily_Softmax = {"softmax", MoeGatingCreate_Softmax, MOE_MASS_EXP, "softmax_d1,softmax_dlin", NULL, NULL, "softmax gating [P2]: gate_i = softmax_i(beta1^T x + beta0), last atom pinned"};
