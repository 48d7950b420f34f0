/* Sigmoid gating [P1]: gate_i(x) = 1 / (1 + exp(-(beta1_i^T x + beta0_i))).
   The gates do not sum to one; no parameter is pinned. */
#include <moe/private/modelimpl.h>

static inline PetscReal Sigmoid(PetscReal z)
{
  /* written so that exp() never overflows */
  if (z >= 0) return 1.0 / (1.0 + PetscExpReal(-z));
  else {
    PetscReal e = PetscExpReal(z);
    return e / (1.0 + e);
  }
}

static PetscErrorCode MoeGatingEvaluate_Sigmoid(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  PetscInt  i, j, d = g->d;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    const PetscReal *b1 = theta + i * g->stride;
    PetscReal        s  = b1[d];
    for (j = 0; j < d; j++) s += b1[j] * x[j];
    gate[i] = Sigmoid(s);
    sum += gate[i] * h[i];
    if (J) {
      PetscReal *Ji = J + i * g->stride, dfds = h[i] * gate[i] * (1.0 - gate[i]);
      for (j = 0; j < d; j++) Ji[j] = dfds * x[j];
      Ji[d] = dfds;
    }
  }
  *f = sum;
  PetscFunctionReturn(0);
}

/* c atoms with sigmoid(b) = sigmoid(b0)/c carry the mass of one atom with bias b0. */
static PetscErrorCode MoeGatingSplitBias_Sigmoid(MoeGating g, PetscReal b0, PetscInt c, PetscReal *b)
{
  PetscReal m = Sigmoid(b0) / c;

  PetscFunctionBegin;
  *b = PetscLogReal(m / (1.0 - m));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_Sigmoid(MoeGating g)
{
  PetscFunctionBegin;
  g->ops.evaluate  = MoeGatingEvaluate_Sigmoid;
  g->ops.splitbias = MoeGatingSplitBias_Sigmoid;
  PetscFunctionReturn(0);
}

const MoeGatingFamily MoeGatingFamily_Sigmoid = {"sigmoid", MoeGatingCreate_Sigmoid, MOE_MASS_SIGMOID, "sigmoid_d1,sigmoid_d2", "sigmoid_d3", NULL, "sigmoid gating [P1]: gate_i = sigmoid(beta1_i^T x + beta0_i), gates need not sum to one"};
