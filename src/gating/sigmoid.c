/* Sigmoid gating [P1]: gate_i(x) = 1 / (1 + exp(-(beta1_i^T x + beta0_i))).
   The gates do not sum to one; no parameter is pinned. */
#include <moe/private/modelimpl.h>


static PetscErrorCode MoeGatingScores_Sigmoid(MoeGating g, const PetscReal *glob, const PetscReal *s, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *dfds, PetscReal *dglob)
{
  PetscInt  i;
  PetscReal sum = 0;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    gate[i] = MoeSigmoid(s[i]);
    sum += gate[i] * h[i];
    if (dfds) dfds[i] = h[i] * gate[i] * (1.0 - gate[i]);
  }
  *f = sum;
  PetscFunctionReturn(0);
}

/* c atoms with sigmoid(b) = sigmoid(b0)/c carry the mass of one atom with bias b0. */
static PetscErrorCode MoeGatingSplitBias_Sigmoid(MoeGating g, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b)
{
  PetscReal m = MoeSigmoid(b0) / c;

  PetscFunctionBegin;
  *b = PetscLogReal(m / (1.0 - m));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_Sigmoid(MoeGating g)
{
  PetscFunctionBegin;
  g->ops.scores    = MoeGatingScores_Sigmoid;
  g->ops.splitbias = MoeGatingSplitBias_Sigmoid;
  PetscFunctionReturn(0);
}

const MoeGatingFamily MoeGatingFamily_Sigmoid = {"sigmoid", MoeGatingCreate_Sigmoid, MOE_MASS_SIGMOID, "sigmoid_d1,sigmoid_d2", "sigmoid_d3", NULL, "sigmoid gating [P1]: gate_i = sigmoid(beta1_i^T x + beta0_i), gates need not sum to one", PETSC_FALSE};
