/* Perturbed cosine router [arXiv 2405.14131, ICLR 2025]: the score of atom i is
     s_i(x) = beta1_i^T x / ((|beta1_i| + tau)(|x| + tau)) + beta0_i,
   tau = 0 the plain cosine router, tau > 0 the perturbed one; the gates are the softmax of s over
   the K atoms with the largest scores (ties go to the lower index), 0 elsewhere; K = 0 (the
   default) keeps all k atoms, the dense softmax.  Options: -<prefix>cosine_tau (default 0.1,
   >= 0), -<prefix>cosine_K (default 0, 0 <= K <= k).

   The score is not affine in x (nor in beta1), so the family evaluates rows itself.  The top-K
   selection is piecewise constant in the parameters: the derivative is the one of the current
   piece, the selection held fixed (the gates jump where the K-th and (K+1)-th scores cross).

   Pinning.  The gates (dense, or over the kept atoms, whose ranking a common shift does not
   change) are invariant to a common shift of the scores.  With tau > 0 the score is
   c_i^T z + beta0_i, z = x/(|x| + tau) the same for every atom and c_i = beta1_i/(|beta1_i| + tau)
   a bijection of R^d onto the open unit ball: shifting every c_i by the same w (and so every
   beta1_i along a curve) changes no gate, as for softmax.  Pinning beta0 alone leaves these d
   directions flat (a singular Fisher information, every drawn truth refused), so the last atom's
   (beta1, beta0) is pinned to 0 as softmax does; the pinned model holds exactly the mixing
   measures whose |c_i - c_last| < 1, which every drawn truth is by construction (drawn, then
   pinned).  With tau = 0 the c_i are unit vectors: no common shift keeps them unit, and a pinned
   beta1 = 0 would give the last atom a constant score, another model; only beta0 is pinned
   (beta1's length is then not identified at all: the score sees its direction alone). */
#include <moe/private/modelimpl.h>

typedef struct {
  PetscInt  K;   /* atoms kept per input, 0: all */
  PetscReal tau; /* perturbation of the norms */
} MoeGating_Cosine;

static PetscReal Norm(PetscInt n, const PetscReal *v)
{
  PetscReal s = 0;

  for (PetscInt j = 0; j < n; j++) s += v[j] * v[j];
  return PetscSqrtReal(s);
}

/* The cosine term cosv[i] of every atom at x, |x| + tau in *B.  With tau = 0 the term is 0/0 where
   beta1_i = 0 or x = 0: it is taken as 0, the value every tau > 0 gives there, so no NaN reaches the fit. */
static void CosineTerms(MoeGating g, MoeGating_Cosine *c, const PetscReal *theta, const PetscReal *x, PetscReal *B, PetscReal *cosv)
{
  PetscInt d = g->d;

  *B = Norm(d, x) + c->tau;
  for (PetscInt i = 0; i < g->k; i++) {
    const PetscReal *b1 = theta + i * g->stride;
    PetscReal        A  = Norm(d, b1) + c->tau, u = 0;

    for (PetscInt j = 0; A > 0 && *B > 0 && j < d; j++) u += (b1[j] / A) * (x[j] / *B); /* normalised first: no overflow */
    cosv[i] = u;
  }
}

/* Is atom i among the K largest scores (ties to the lower index)? */
static PetscBool Kept(PetscInt k, PetscInt K, const PetscReal *s, PetscInt i)
{
  PetscInt above = 0;

  for (PetscInt j = 0; j < k; j++) above += s[j] > s[i] || (s[j] == s[i] && j < i);
  return (PetscBool)(above < K);
}

/* ds_i/dbeta1_i = (x/B - cos_i beta1_i/|beta1_i|) / A_i, times dfds, into J (with dfds into beta0_i).
   At beta1_i = 0 (tau > 0) the second term vanishes in the limit; where the guard of CosineTerms
   set the term to 0 (tau = 0) its derivative is taken as 0. */
static void GatingDerivative(MoeGating g, MoeGating_Cosine *c, PetscInt i, PetscReal dfds, PetscReal cosv, const PetscReal *theta, const PetscReal *x, PetscReal B, PetscReal *J)
{
  const PetscReal *b1 = theta + i * g->stride;
  PetscReal       *Ji = J + i * g->stride, nrm = Norm(g->d, b1), A = nrm + c->tau;
  PetscInt         j, d = g->d;

  Ji[d] = dfds;
  for (j = 0; j < d; j++) Ji[j] = 0;
  if (A == 0 || B == 0 || dfds == 0) return;
  for (j = 0; j < d; j++) Ji[j] = dfds * (x[j] / B - (nrm > 0 ? cosv * b1[j] / nrm : 0)) / A;
}

static PetscErrorCode MoeGatingEvaluate_Cosine(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  MoeGating_Cosine *c = (MoeGating_Cosine *)g->data;
  PetscInt          i, k = g->k, K = c->K ? c->K : k;
  PetscReal         B, top = PETSC_NINFINITY, z = 0, sum = 0, *s = g->s, *cosv = g->dfds; /* the work of the affine-score families */

  PetscFunctionBegin;
  CosineTerms(g, c, theta, x, &B, cosv);
  for (i = 0; i < k; i++) s[i] = cosv[i] + theta[i * g->stride + g->d];
  for (i = 0; i < k; i++) {
    gate[i] = K == k || Kept(k, K, s, i) ? 1 : 0; /* the selection, as a 0/1 mask for now */
    if (gate[i] > 0) top = PetscMax(top, s[i]);
  }
  for (i = 0; i < k; i++) {
    gate[i] = gate[i] > 0 ? PetscExpReal(s[i] - top) : 0;
    z += gate[i];
  }
  for (i = 0; i < k; i++) {
    gate[i] /= z;
    sum += gate[i] * h[i];
  }
  *f = sum;
  if (J) /* df/ds_i = gate_i (h_i - f), 0 for the atoms not kept */
    for (i = 0; i < k; i++) GatingDerivative(g, c, i, gate[i] * (h[i] - sum), cosv[i], theta, x, B, J);
  PetscFunctionReturn(0);
}

/* The last atom's (beta1, beta0) with tau > 0, its beta0 alone with tau = 0 (see the top of the file). */
static PetscErrorCode MoeGatingPin_Cosine(MoeGating g, PetscBool *pin)
{
  PetscFunctionBegin;
  if (((MoeGating_Cosine *)g->data)->tau > 0) PetscCall(MoeGatingPinLastAtom(g, pin));
  else pin[(g->k - 1) * g->stride + g->d] = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingSetFromOptions_Cosine(MoeGating g, PetscOptions opts, const char prefix[])
{
  MoeGating_Cosine *c   = (MoeGating_Cosine *)g->data;
  const char       *pre = prefix ? prefix : "";

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetReal(opts, prefix, "-cosine_tau", &c->tau, NULL));
  PetscCall(PetscOptionsGetInt(opts, prefix, "-cosine_K", &c->K, NULL));
  MoeUserCheck(c->tau >= 0 && PetscIsNormalReal(c->tau + 1), "-%scosine_tau %g must be a finite number >= 0 (0: the plain cosine router)", pre, (double)c->tau);
  MoeUserCheck(c->K >= 0 && c->K <= g->k, "-%scosine_K %" PetscInt_FMT " is outside 0..%" PetscInt_FMT " (the number of atoms k): set 1 <= K <= k, or 0 for all k atoms", pre, c->K, g->k);
  g->active = c->K ? c->K : g->k;
  PetscFunctionReturn(0);
}

/* tau in the shortest form that reads back to the same number. */
static PetscErrorCode MoeGatingDescribe_Cosine(MoeGating g, char *buf, size_t len)
{
  MoeGating_Cosine *c = (MoeGating_Cosine *)g->data;
  char              tau[32];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tau, sizeof(tau), "%g", (double)c->tau));
  if (strtod(tau, NULL) != c->tau) PetscCall(PetscSNPrintf(tau, sizeof(tau), "%.17g", (double)c->tau));
  PetscCall(PetscSNPrintf(buf, len, "-cosine_K %" PetscInt_FMT " -cosine_tau %s", c->K, tau));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_Cosine(MoeGating g)
{
  MoeGating_Cosine *c;

  PetscFunctionBegin;
  PetscCall(PetscNew(&c));
  c->tau = 0.1;
  g->data               = c;
  g->ops.evaluate       = MoeGatingEvaluate_Cosine;
  g->ops.setfromoptions = MoeGatingSetFromOptions_Cosine;
  g->ops.pin            = MoeGatingPin_Cosine;
  g->ops.describe       = MoeGatingDescribe_Cosine;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-cosine_tau", MOE_OPTION_REAL, "0.1", "cosine router: perturbation tau >= 0 of the norms, s_i = beta1_i^T x / ((|beta1_i| + tau)(|x| + tau)) + beta0_i (0: the plain cosine router)", NULL},
  {"-cosine_K", MOE_OPTION_INT, "0", "cosine router: softmax over the K atoms with the largest scores (0: all k atoms, dense)", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeGatingFamily MoeGatingFamily_Cosine = {"cosine", MoeGatingCreate_Cosine, MOE_MASS_EXP, "softmax_d1,softmax_dlin", NULL, options, "perturbed cosine router [arXiv 2405.14131]: softmax (top-K with -cosine_K) of beta1^T x / ((|beta1| + tau)(|x| + tau)) + beta0, last atom pinned (its beta0 alone at tau = 0)", PETSC_TRUE};
