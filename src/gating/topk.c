/* Top-K sparse softmax gating [P3]: the K atoms with the largest ranking scores r_i are kept
   (ties go to the lower index) and the gates are the softmax of s_i = beta1_i^T x + beta0_i
   over those K atoms; the others get gate 0.  P3 leaves open what is ranked: r_i = beta1_i^T x
   (the default) or, with -topk_rank_affine, the whole score r_i = s_i.  The selection is
   piecewise constant in the parameters, so the derivative is taken with the selection fixed.

   With -topk_temperature T > 0 the selection is soft: atom i gets the mask
   m_i = sigmoid((r_i - t)/T), t halfway between the K-th and (K+1)-th largest r, and the gates
   are m_i e^{s_i} / sum_j m_j e^{s_j}; as T -> 0 they tend to the hard top-K gates.  The
   maximum-likelihood fit anneals T to 0 so that it can move the selection (src/fit/mle.c).
   Options: -<prefix>topk_K (default 2, 1 <= K <= k), -topk_rank_affine, -topk_temperature.
   The last atom is pinned. */
#include <moe/private/modelimpl.h>

typedef struct {
  PetscInt   K;
  PetscBool  affine; /* rank s_i (else beta1_i^T x) */
  PetscReal  T;      /* selection temperature, 0: hard */
  PetscReal *u;      /* the ranking scores r_i */
  PetscInt  *keep;   /* selected atoms, by decreasing r (soft: the K+1 largest) */
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

/* log sigmoid(z), without overflow */
static PetscReal LogSigmoid(PetscReal z)
{
  return z >= 0 ? -log1p(PetscExpReal(-z)) : z - log1p(PetscExpReal(z));
}

static void Scores(MoeGating g, MoeGating_TopK *tk, const PetscReal *theta, const PetscReal *x, PetscReal *s, PetscReal *J)
{
  PetscInt i, j, d = g->d;

  for (i = 0; i < g->k; i++) {
    const PetscReal *b1 = theta + i * g->stride;
    PetscReal        u  = 0;
    for (j = 0; j < d; j++) u += b1[j] * x[j];
    s[i]     = u + b1[d];
    tk->u[i] = tk->affine ? s[i] : u;
    if (J) {
      PetscReal *Ji = J + i * g->stride;
      for (j = 0; j <= d; j++) Ji[j] = 0;
    }
  }
}

/* dr_i/d(beta1_i, beta0_i) = (x, affine) times df/dr_i, added to J. */
static void AddRankDerivative(MoeGating g, MoeGating_TopK *tk, PetscInt i, PetscReal dfdr, const PetscReal *x, PetscReal *J)
{
  PetscReal *Ji = J + i * g->stride;
  PetscInt   j;

  for (j = 0; j < g->d; j++) Ji[j] += dfdr * x[j];
  if (tk->affine) Ji[g->d] += dfdr;
}

static PetscErrorCode EvaluateHard(MoeGating g, MoeGating_TopK *tk, const PetscReal *s, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  PetscInt  i, j, c, d = g->d, K = tk->K;
  PetscReal sum = 0, e[64];

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) gate[i] = 0;
  SelectTopK(g->k, K, tk->u, tk->keep);
  for (c = 0; c < K; c++) e[c] = s[tk->keep[c]];
  MoeSoftmax(K, e, e);
  for (c = 0; c < K; c++) {
    gate[tk->keep[c]] = e[c];
    sum += e[c] * h[tk->keep[c]];
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

/* The soft selection: gates m_i e^{s_i} / sum_j m_j e^{s_j}, m_i = sigmoid((r_i - t)/T). */
static PetscErrorCode EvaluateSoft(MoeGating g, MoeGating_TopK *tk, const PetscReal *s, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  PetscInt  i, k = g->k, K = tk->K, a = -1, b = -1;
  PetscReal t = PETSC_NINFINITY, lw[256], m[256], top = PETSC_NINFINITY, z = 0, sum = 0, dsum = 0;

  PetscFunctionBegin;
  if (K < k) { /* t halfway between the K-th and (K+1)-th largest ranking scores */
    SelectTopK(k, K + 1, tk->u, tk->keep);
    a = tk->keep[K - 1];
    b = tk->keep[K];
    t = 0.5 * (tk->u[a] + tk->u[b]);
  }
  for (i = 0; i < k; i++) {
    PetscReal zi = K < k ? (tk->u[i] - t) / tk->T : PETSC_INFINITY;
    m[i]  = K < k ? 1.0 / (1.0 + PetscExpReal(-zi)) : 1.0;
    lw[i] = s[i] + (K < k ? LogSigmoid(zi) : 0);
    top   = PetscMax(top, lw[i]);
  }
  for (i = 0; i < k; i++) {
    gate[i] = PetscExpReal(lw[i] - top);
    z += gate[i];
  }
  for (i = 0; i < k; i++) {
    gate[i] /= z;
    sum += gate[i] * h[i];
  }
  *f = sum;
  if (!J) PetscFunctionReturn(0);
  for (i = 0; i < k; i++) { /* through e^{s_i}: df/ds_i = G_i */
    PetscReal Gi = gate[i] * (h[i] - sum);
    PetscReal *Ji = J + i * g->stride;
    for (PetscInt j = 0; j < g->d; j++) Ji[j] = Gi * x[j];
    Ji[g->d] = Gi;
  }
  if (K == k) PetscFunctionReturn(0);
  for (i = 0; i < k; i++) dsum += gate[i] * (h[i] - sum) * (1 - m[i]); /* through the masks: df/dr_j */
  for (i = 0; i < k; i++) {
    PetscReal dfdr = gate[i] * (h[i] - sum) * (1 - m[i]) / tk->T;
    if (i == a || i == b) dfdr -= 0.5 * dsum / tk->T;
    AddRankDerivative(g, tk, i, dfdr, x, J);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingEvaluate_TopK(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;
  PetscReal       s[256];

  PetscFunctionBegin;
  Scores(g, tk, theta, x, s, J);
  if (tk->T > 0) PetscCall(EvaluateSoft(g, tk, s, x, h, f, gate, J));
  else PetscCall(EvaluateHard(g, tk, s, x, h, f, gate, J));
  PetscFunctionReturn(0);
}

/* The selection temperature (the annealing of the maximum-likelihood fit). */
static PetscErrorCode MoeGatingSetTemperature_TopK(MoeGating g, PetscReal T)
{
  PetscFunctionBegin;
  ((MoeGating_TopK *)g->data)->T = T;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingGetTemperature_TopK(MoeGating g, PetscReal *T)
{
  PetscFunctionBegin;
  *T = ((MoeGating_TopK *)g->data)->T;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingSetFromOptions_TopK(MoeGating g, PetscOptions opts, const char prefix[])
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;
  PetscBool       set;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetInt(opts, prefix, "-topk_K", &tk->K, &set));
  PetscCall(PetscOptionsGetBool(opts, prefix, "-topk_rank_affine", &tk->affine, NULL));
  PetscCall(PetscOptionsGetReal(opts, prefix, "-topk_temperature", &tk->T, NULL));
  MoeUserCheck(tk->T >= 0 && PetscIsNormalReal(tk->T + 1), "-%stopk_temperature %g must be >= 0 (0: the hard top-K selection)", prefix ? prefix : "", (double)tk->T);
  MoeUserCheck(g->k <= 255, "top-K gating supports at most 255 atoms");
  MoeUserCheck(tk->K >= 1 && tk->K <= g->k, "-%stopk_K %" PetscInt_FMT " is outside 1..%" PetscInt_FMT " (the number of atoms k): set 1 <= K <= k", prefix ? prefix : "", tk->K, g->k);
  g->active = tk->K;
  MoeUserCheck(tk->K <= 64, "-%stopk_K %" PetscInt_FMT " is too large: moerate supports K <= 64", prefix ? prefix : "", tk->K);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDescribe_TopK(MoeGating g, char *buf, size_t len)
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, len, "-topk_K %" PetscInt_FMT "%s", tk->K, tk->affine ? " -topk_rank_affine 1" : ""));
  if (tk->T > 0) {
    char more[64];
    PetscCall(PetscSNPrintf(more, sizeof(more), " -topk_temperature %g", (double)tk->T));
    PetscCall(PetscStrlcat(buf, more, len));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDestroy_TopK(MoeGating g)
{
  MoeGating_TopK *tk = (MoeGating_TopK *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscFree2(tk->u, tk->keep));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_TopK(MoeGating g)
{
  MoeGating_TopK *tk;

  PetscFunctionBegin;
  PetscCall(PetscNew(&tk));
  tk->K = PetscMin(2, g->k);
  PetscCall(PetscMalloc2(g->k, &tk->u, g->k + 1, &tk->keep));
  g->data               = tk;
  g->ops.evaluate       = MoeGatingEvaluate_TopK;
  g->ops.setfromoptions = MoeGatingSetFromOptions_TopK;
  g->ops.pin            = MoeGatingPinLastAtom;
  g->ops.describe       = MoeGatingDescribe_TopK;
  g->ops.destroy        = MoeGatingDestroy_TopK;
  g->ops.settemperature = MoeGatingSetTemperature_TopK;
  g->ops.gettemperature = MoeGatingGetTemperature_TopK;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-topk_K", MOE_OPTION_INT, "2", "top-K gating: atoms kept per input (1 <= K <= k)", NULL},
  {"-topk_rank_affine", MOE_OPTION_BOOL, "0", "top-K gating: rank the whole score beta1^T x + beta0 (default: beta1^T x; P3 does not settle which)", NULL},
  {"-topk_temperature", MOE_OPTION_REAL, "0", "top-K gating: soft selection sigmoid((r - t)/T) with this temperature (0: the hard selection)", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeGatingFamily MoeGatingFamily_TopK = {"topk", MoeGatingCreate_TopK, MOE_MASS_EXP, "topk", NULL, options, "top-K sparse softmax gating [P3]: softmax over the K largest scores, zero elsewhere", PETSC_TRUE};
