/* Top-K sparse softmax gating [P3]: the K atoms with the largest beta1_i^T x are kept
   (ties go to the lower index) and the gates are the softmax of s_i = beta1_i^T x + beta0_i
   over those K atoms; the others get gate 0.  The selection is piecewise constant in
   the parameters, so the derivative is taken with the selection fixed.
   Option: -<prefix>topk_K (default 2, 1 <= K <= k).  The last atom is pinned. */
#include <moe/private/modelimpl.h>

typedef struct {
  PetscInt   K;
  PetscReal *u;    /* beta1_i^T x */
  PetscInt  *keep; /* selected atoms */
} MoeGating_TopK;

/* Indices of the K largest u[i]; ties to the lower index.  K and k are small. */
static void SelectTopK(PetscInt k, PetscInt K, const PetscReal *u, PetscInt *keep)
{
  PetscInt i, j, m = 0;

  for (i = 0; i < k; i++) {
    PetscInt pos = m;
    while (pos > 0 && u[keep[pos - 1]] < u[i]) pos--; /* strict: earlier index wins ties */
    if (pos >= K) continue;
    for (j = PetscMin(m, K - 1); j > pos; j--) keep[j] = keep[j - 1];
    keep[pos] = i;
    if (m < K) m++;
  }
}

static PetscErrorCode MoeGatingEvaluate_TopK(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;
  PetscInt        i, j, c, d = g->d, K = tk->K;
  PetscReal       sum = 0, s[64];

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    const PetscReal *b1 = theta + i * g->stride;
    PetscReal        u  = 0;
    for (j = 0; j < d; j++) u += b1[j] * x[j];
    tk->u[i] = u;
    gate[i]  = 0;
    if (J) {
      PetscReal *Ji = J + i * g->stride;
      for (j = 0; j <= d; j++) Ji[j] = 0;
    }
  }
  SelectTopK(g->k, K, tk->u, tk->keep);
  for (c = 0; c < K; c++) s[c] = tk->u[tk->keep[c]] + theta[tk->keep[c] * g->stride + d];
  MoeSoftmax(K, s, s);
  for (c = 0; c < K; c++) {
    gate[tk->keep[c]] = s[c];
    sum += s[c] * h[tk->keep[c]];
  }
  *f = sum;
  if (J) {
    for (c = 0; c < K; c++) {
      PetscInt   i    = tk->keep[c];
      PetscReal *Ji   = J + i * g->stride;
      PetscReal  dfds = gate[i] * (h[i] - sum);
      for (j = 0; j < d; j++) Ji[j] = dfds * x[j];
      Ji[d] = dfds;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingSetFromOptions_TopK(MoeGating g, PetscOptions opts, const char prefix[])
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;
  PetscBool       set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetInt(opts, prefix, "-topk_K", &tk->K, &set));
  MoeUserCheck(tk->K >= 1 && tk->K <= g->k, "-%stopk_K %" PetscInt_FMT " is outside 1..%" PetscInt_FMT " (the number of atoms k): set 1 <= K <= k", prefix ? prefix : "", tk->K, g->k);
  g->active = tk->K;
  MoeUserCheck(tk->K <= 64, "-%stopk_K %" PetscInt_FMT " is too large: moerate supports K <= 64", prefix ? prefix : "", tk->K);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDescribe_TopK(MoeGating g, char *buf, size_t len)
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, len, "-topk_K %" PetscInt_FMT, tk->K));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDestroy_TopK(MoeGating g)
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscFree2(tk->u, tk->keep));
  PetscCall(PetscFree(g->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_TopK(MoeGating g)
{
  MoeGating_TopK *tk;

  PetscFunctionBegin;
  PetscCall(PetscNew(&tk));
  tk->K = PetscMin(2, g->k);
  PetscCall(PetscMalloc2(g->k, &tk->u, g->k, &tk->keep));
  g->data               = tk;
  g->ops.evaluate       = MoeGatingEvaluate_TopK;
  g->ops.setfromoptions = MoeGatingSetFromOptions_TopK;
  g->ops.pin            = MoeGatingPinLastAtom;
  g->ops.describe       = MoeGatingDescribe_TopK;
  g->ops.destroy        = MoeGatingDestroy_TopK;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-topk_K", MOE_OPTION_INT, "2", "top-K gating: atoms kept per input (1 <= K <= k)"},
  {NULL, MOE_OPTION_INT, NULL, NULL}
};

const MoeGatingFamily MoeGatingFamily_TopK = {"topk", MoeGatingCreate_TopK, MOE_MASS_EXP, "topk", NULL, options, "top-K sparse softmax gating [P3]: softmax over the K largest scores, zero elsewhere"};
