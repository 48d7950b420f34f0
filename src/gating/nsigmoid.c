/* Normalised sigmoid gating of DeepSeek-V3 [arXiv 2505.10860, Appendix G], dense (all k atoms):
     gate_i(x) = sigmoid(s_i) / sum_j sigmoid(s_j),   s_i = beta1_i^T x + beta0_i.
   The gates sum to one, so the family serves the Gaussian MoE (-model gaussian).

   Evaluation.  gate = softmax(log sigmoid(s)), with log sigmoid written so that exp() never
   overflows: no overflow for large scores and no 0/0 when every sigmoid underflows (all scores
   below about -745).  With sig_i = sigmoid(s_i) and S = sum_j sig_j,
     df/ds_i = sig_i (1 - sig_i) / S (h_i - f) = gate_i (1 - sig_i) (h_i - f),
   1 - sig_i = sigmoid(-s_i) computed directly (no cancellation near sig_i = 1).

   Pinning: none.  Unlike softmax the gates are not invariant to a common shift of the scores
   (sigmoid is not an exponential), so every (beta1_i, beta0_i) is a parameter.  The shift is only
   weakly identified where every score is very negative (sigmoid(s) ~ exp(s): the softmax limit),
   and with k = 1 the gate is 1 and the gating parameters are not identified at all.

   Mass: sigmoid(beta0), an atom's unnormalised weight at beta1 = 0, of which the gates are the
   ratios; it is identified (nothing is pinned, and sigmoid is not scale-equivariant, so the
   weights are not only known up to a common factor).

   Losses: the per-cell errors cells_exact, cells_over and cells_mass (src/loss/cells.c), which
   weight an atom by the family's mass trait, here sigmoid(beta0).  They apply to every gating
   (-losses auto picks them anyway); they are named here as the family's natural losses.  Not the
   softmax ones: softmax_d1/softmax_dlin (src/loss/softmax.c) weight atoms by exp(beta0) whatever
   the family, so their mass term does not vanish at this family's split embedding of the truth (which
   keeps the sigmoid mass), and their theory (P2) rests on softmax's shift invariance.  Not the
   sigmoid ones: sigmoid_d1/d2/d3 are P1's losses of the unnormalised sigmoid gating (its Regime 1
   "flat" cells), a theory that does not cover the normalisation. */
#include <moe/private/modelimpl.h>

/* log sigmoid(z) = -log(1 + exp(-z)), written so that exp() never overflows */
static inline PetscReal LogSigmoid(PetscReal z)
{
  if (z >= 0) return -log1p(PetscExpReal(-z));
  return z - log1p(PetscExpReal(z));
}


static PetscErrorCode MoeGatingScores_NSigmoid(MoeGating g, const PetscReal *glob, const PetscReal *s, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *dfds, PetscReal *dglob)
{
  PetscInt  i;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) gate[i] = LogSigmoid(s[i]);
  MoeSoftmax(g->k, gate, gate); /* sigmoid(s_i) / sum_j sigmoid(s_j), shifted by the largest log sigmoid */
  for (i = 0; i < g->k; i++) sum += gate[i] * h[i];
  *f = sum;
  if (dfds) /* df/ds_i = gate_i (1 - sigmoid(s_i)) (h_i - f) */
    for (i = 0; i < g->k; i++) dfds[i] = gate[i] * MoeSigmoid(-s[i]) * (h[i] - sum);
  PetscFunctionReturn(0);
}

/* c atoms with sigmoid(b) = sigmoid(b0)/c carry, at beta1 = 0, the gate mass of one atom with bias b0:
     c sigmoid(b) / (R + c sigmoid(b)) = sigmoid(b0) / (R + sigmoid(b0)),
   R the sum of the other atoms' sigmoids.  Exact when the other atoms' sigmoids are unchanged (R the
   same in fit and truth: the embedding copies the other atoms, and each split keeps its true atom's
   sum of sigmoids); where the split atom's beta1 != 0 the split is not exact at every x, as for
   sigmoid gating (src/data/init.c). */
PetscErrorCode MoeGatingSplitBias_NSigmoid(MoeGating g, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b)
{
  PetscReal lm = LogSigmoid(b0) - PetscLogReal((PetscReal)c); /* log(sigmoid(b0)/c): no underflow for b0 << 0 */

  PetscFunctionBegin;
  if (c == 1) *b = b0; /* logit(sigmoid(b0)) would lose b0 > 37, where sigmoid(b0) rounds to 1 */
  else *b = lm - log1p(-PetscExpReal(lm)); /* logit(m) = log m - log(1 - m), m <= 1/2 */
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_NSigmoid(MoeGating g)
{
  PetscFunctionBegin;
  g->ops.scores    = MoeGatingScores_NSigmoid;
  g->ops.splitbias = MoeGatingSplitBias_NSigmoid;
  PetscFunctionReturn(0);
}

const MoeGatingFamily MoeGatingFamily_NSigmoid = {"nsigmoid", MoeGatingCreate_NSigmoid, MOE_MASS_SIGMOID, "cells_exact,cells_over,cells_mass", NULL, NULL, "normalised sigmoid gating of DeepSeek-V3 [arXiv 2505.10860]: gate_i = sigmoid(s_i) / sum_j sigmoid(s_j), s_i = beta1_i^T x + beta0_i, nothing pinned", PETSC_TRUE};
