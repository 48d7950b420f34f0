/* Shared and routed experts (DeepSeekMoE; arXiv 2505.10860, Appendix G): the first k1 atoms are
   shared experts that every input uses, the other k2 = k - k1 are routed by a gating of the input,
     gate_i(x) = 1/2 omega_i                  i < k1,   omega = softmax(beta0_0, ..., beta0_{k1-1}),
     gate_i(x) = 1/2 r_{i-k1}(x)               i >= k1,  r = router(s_{k1}, ..., s_{k-1}),
   s_i = beta1_i^T x + beta0_i, the router softmax (default) or the normalised sigmoid
   sigmoid(s_i) / sum_j sigmoid(s_j) of DeepSeek-V3 (-shared_router nsigmoid).  With the Gaussian MoE
   this is the paper's density 1/2 sum_i omega_i N(h(x, kappa_i), tau_i) + 1/2 sum_i r_i(x) N(h(x, eta_i), nu_i).
   Options: -<prefix>shared_k1 k1 (default 1), -<prefix>shared_router softmax|nsigmoid,
   -<prefix>shared_expert FAMILY: the shared atoms' experts of another family than the routed ones
   (-expert); src/model/model.c lays their parameters out (MoeModelExpertEvaluate).

   Pinned: the shared atoms' beta1 (their weights do not depend on x) and the last shared atom's
   beta0 (softmax is invariant to a common shift); with the softmax router the last routed atom's
   (beta1, beta0) too (the normalised sigmoid is not shift invariant).  Every gate sums to one: the
   family serves the Gaussian MoE.

   Parts: every atom is in the shared part (0) or the routed part (1) (g->part); the per-part losses
   cells_shared_* and cells_routed_* take the Voronoi cells of the true atoms of one part.  Masses
   exp(b0) of the Voronoi view: the shared weights omega_i themselves (b0 = log omega_i, see
   MoeGatingAtoms_Shared), the routed atoms' exp(beta0) as for softmax (for the normalised sigmoid
   router exp(beta0) ranks the atoms as sigmoid(beta0) does but is not its weight: the cells_*_mass
   losses of such fits measure the logits' scale).  A near start maps fitted shared atoms to true shared ones
   and routed to routed (extra atoms of a part split the part's true atoms, with the split of the part's
   mass: exp for the shared weights and the softmax router, sigmoid for the normalised sigmoid). */
#include <moe/private/modelimpl.h>

const char *const MoeSharedRouters[] = {"softmax", "nsigmoid", "MoeSharedRouter", "MOE_SHARED_ROUTER_", NULL};
typedef enum {
  MOE_SHARED_ROUTER_SOFTMAX,
  MOE_SHARED_ROUTER_NSIGMOID
} MoeSharedRouter;

typedef struct {
  PetscInt        k1;
  MoeSharedRouter router;
  char            expert[64]; /* the shared atoms' expert family (-shared_expert), "": the model's */
} MoeGating_Shared;

/* log sigmoid(z), written so that exp() never overflows */
static inline PetscReal LogSigmoid(PetscReal z)
{
  return z >= 0 ? -log1p(PetscExpReal(-z)) : z - log1p(PetscExpReal(z));
}

/* gate[0..m) = 1/2 softmax(s[0..m)) (or 1/2 the normalised sigmoid), its output F = sum gate h / (1/2)
   and df/ds into dfds when not NULL. */
static void Part(PetscInt m, PetscBool nsigmoid, const PetscReal *s, const PetscReal *h, PetscReal *gate, PetscReal *F, PetscReal *dfds)
{
  PetscInt  i;
  PetscReal sum = 0;

  for (i = 0; i < m; i++) gate[i] = nsigmoid ? LogSigmoid(s[i]) : s[i];
  MoeSoftmax(m, gate, gate);
  for (i = 0; i < m; i++) sum += gate[i] * h[i];
  for (i = 0; i < m && dfds; i++) dfds[i] = 0.5 * gate[i] * (nsigmoid ? MoeSigmoid(-s[i]) : 1.0) * (h[i] - sum);
  for (i = 0; i < m; i++) gate[i] *= 0.5;
  *F = sum;
}

static PetscErrorCode MoeGatingScores_Shared(MoeGating g, const PetscReal *glob, const PetscReal *s, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *dfds, PetscReal *dglob)
{
  MoeGating_Shared *sh = (MoeGating_Shared *)g->data;
  PetscInt          k1 = sh->k1;
  PetscReal         Fs, Fr;

  PetscFunctionBegin;
  Part(k1, PETSC_FALSE, s, h, gate, &Fs, dfds);
  Part(g->k - k1, (PetscBool)(sh->router == MOE_SHARED_ROUTER_NSIGMOID), s + k1, h + k1, gate + k1, &Fr, dfds ? dfds + k1 : NULL);
  *f = 0.5 * (Fs + Fr);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingPin_Shared(MoeGating g, PetscBool *pin)
{
  MoeGating_Shared *sh = (MoeGating_Shared *)g->data;
  PetscInt          i, j, d = g->d;

  PetscFunctionBegin;
  for (i = 0; i < sh->k1; i++)
    for (j = 0; j < d; j++) pin[i * g->stride + j] = PETSC_TRUE;
  pin[(sh->k1 - 1) * g->stride + d] = PETSC_TRUE;
  if (sh->router == MOE_SHARED_ROUTER_SOFTMAX)
    for (j = 0; j <= d; j++) pin[(g->k - 1) * g->stride + j] = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Fitted shared atoms copy true shared ones, routed copy routed (the generic map within each part). */
static PetscErrorCode MoeGatingAtomMap_Shared(MoeGating fit, MoeGating truth, PetscInt *map)
{
  MoeGating_Shared *sf = (MoeGating_Shared *)fit->data, *st = (MoeGating_Shared *)truth->data;
  PetscInt          i;

  PetscFunctionBegin;
  PetscCall(MoeAtomMapDefault(sf->k1, st->k1, map));
  PetscCall(MoeAtomMapDefault(fit->k - sf->k1, truth->k - st->k1, map + sf->k1));
  for (i = sf->k1; i < fit->k; i++) map[i] += st->k1;
  PetscFunctionReturn(0);
}

/* Voronoi view: locations beta1 (0 for the shared atoms), and as biases the routed atoms' beta0 (P2's
   convention, the last one pinned) and the shared atoms' log weights log omega_i: their beta0 are logits
   pinned at the last shared atom, so exp(beta0) would compare a fit's k1 shared atoms with the truth's
   k1* by an arbitrary normalisation; omega sums to one in both. */
static PetscErrorCode MoeGatingAtoms_Shared(MoeGating g, const PetscReal *theta, PetscReal *loc, PetscReal *b0)
{
  MoeGating_Shared *sh = (MoeGating_Shared *)g->data;
  PetscInt          i, j;
  PetscReal         top = PETSC_NINFINITY, z = 0;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    for (j = 0; j < g->d; j++) loc[i * g->d + j] = theta[i * g->stride + j];
    b0[i] = theta[i * g->stride + g->d];
  }
  for (i = 0; i < sh->k1; i++) top = PetscMax(top, b0[i]);
  for (i = 0; i < sh->k1; i++) z += PetscExpReal(b0[i] - top);
  for (i = 0; i < sh->k1; i++) b0[i] -= top + PetscLogReal(z);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingSetFromOptions_Shared(MoeGating g, PetscOptions opts, const char prefix[])
{
  MoeGating_Shared *sh  = (MoeGating_Shared *)g->data;
  const char       *pre = prefix ? prefix : "";
  char              router[32] = "softmax";
  PetscBool         found;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetInt(opts, prefix, "-shared_k1", &sh->k1, NULL));
  MoeUserCheck(sh->k1 >= 1 && sh->k1 < g->k, "-%sshared_k1 %" PetscInt_FMT " leaves no shared or no routed atom of k = %" PetscInt_FMT ": choose 1 <= k1 < k", pre, sh->k1, g->k);
  PetscCall(PetscOptionsGetString(opts, prefix, "-shared_router", router, sizeof(router), NULL));
  PetscCall(PetscEnumFind(MoeSharedRouters, router, (PetscEnum *)&sh->router, &found));
  MoeUserCheck(found, "-%sshared_router '%s' is not a router: use softmax or nsigmoid", pre, router);
  for (PetscInt i = 0; i < g->k; i++) g->part[i] = i < sh->k1 ? 0 : 1;
  PetscCall(PetscOptionsGetString(opts, prefix, "-shared_expert", sh->expert, sizeof(sh->expert), NULL));
  if (sh->expert[0]) {
    char known[256];
    PetscCall(MoeExpertFamilyFind(sh->expert, &g->part_expert));
    PetscCall(MoeExpertTypesString(known, sizeof(known)));
    MoeUserCheck(g->part_expert, "-%sshared_expert '%s' is not an expert family: use one of %s", pre, sh->expert, known);
  }
  PetscFunctionReturn(0);
}

/* Extra atoms split a true atom of their part: the shared weights' and the softmax router's exp masses,
   the normalised sigmoid router's sigmoid ones. */
static PetscErrorCode MoeGatingSplitBias_Shared(MoeGating g, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b)
{
  MoeGating_Shared *sh = (MoeGating_Shared *)g->data;

  PetscFunctionBegin;
  if (i >= sh->k1 && sh->router == MOE_SHARED_ROUTER_NSIGMOID) PetscCall(MoeGatingSplitBias_NSigmoid(g, i, b0, c, b));
  else PetscCall(MoeGatingSplitBias_Exp(g, i, b0, c, b));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDescribe_Shared(MoeGating g, char *buf, size_t len)
{
  MoeGating_Shared *sh = (MoeGating_Shared *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, len, "-shared_k1 %" PetscInt_FMT " -shared_router %s%s%s", sh->k1, MoeSharedRouters[sh->router], sh->expert[0] ? " -shared_expert " : "", sh->expert));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_Shared(MoeGating g)
{
  MoeGating_Shared *sh;

  PetscFunctionBegin;
  PetscCall(PetscNew(&sh));
  sh->k1                = 1;
  g->data               = sh;
  g->ops.scores         = MoeGatingScores_Shared;
  g->ops.setfromoptions = MoeGatingSetFromOptions_Shared;
  g->ops.pin            = MoeGatingPin_Shared;
  g->ops.atommap        = MoeGatingAtomMap_Shared;
  g->ops.atoms          = MoeGatingAtoms_Shared;
  g->ops.splitbias      = MoeGatingSplitBias_Shared;
  g->ops.describe       = MoeGatingDescribe_Shared;
  PetscCall(PetscMalloc1(g->k, &g->part));
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-shared_k1", MOE_OPTION_INT, "1", "shared experts: the first k1 atoms are shared (constant weights), the other k - k1 routed", NULL},
  {"-shared_router", MOE_OPTION_STRING, "softmax", "shared experts: the router of the routed atoms, softmax or nsigmoid (normalised sigmoid, DeepSeek-V3)", "nsigmoid"},
  {"-shared_expert", MOE_OPTION_STRING, "", "shared experts: the shared atoms' expert family when it is not -expert (DeepSeekMoE's truth 4: srelu shared, linear routed)", "relu"},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeGatingFamily MoeGatingFamily_Shared = {"shared", MoeGatingCreate_Shared, MOE_MASS_EXP, "cells_exact,cells_over,cells_mass", NULL, options, "shared and routed experts [arXiv 2505.10860]: 1/2 softmax(beta0) over the first -shared_k1 atoms, 1/2 a softmax or normalised sigmoid router over the others", PETSC_TRUE};
