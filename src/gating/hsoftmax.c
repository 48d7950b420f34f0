/* Hierarchical softmax gating [P2], two levels.  The k atoms are G groups of L = k/G
   leaves; leaf (g, l) is atom i = g*L + l and its gate is
     gate_{g,l}(x) = softmax_g(u(x)) * softmax_l(s_{g,.}(x)),
   u_g = alpha1_g^T x + alpha0_g (outer level, the gating globals, (d+1) per group),
   s_{g,l} = beta1_{gl}^T x + beta0_{gl} (inner level, the atoms' gating entries).
   Pinned: the last group's (alpha1, alpha0) and the last leaf of every group.
   Option: -<prefix>hsoftmax_groups G (default 2; G must divide k).
   Voronoi view of leaf (g, l): location (alpha1_g, beta1_{gl}), bias alpha0_g + beta0_{gl}. */
#include <moe/private/modelimpl.h>
#include <gsl/gsl_randist.h>

typedef struct {
  PetscInt   G, L;
  PetscReal *P, *F; /* outer gates, group outputs */
} MoeGating_HSoftmax;

static PetscErrorCode MoeGatingEvaluate_HSoftmax(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)g->data;
  const PetscReal    *outer = theta + g->k * g->stride;
  PetscInt            G = hs->G, L = hs->L, d = g->d, q, l, j;
  PetscReal           sum = 0;

  PetscFunctionBegin;
  for (q = 0; q < G; q++) {
    const PetscReal *a = outer + q * (d + 1);
    PetscReal        u = a[d];
    for (j = 0; j < d; j++) u += a[j] * x[j];
    hs->P[q] = u;
  }
  MoeSoftmax(G, hs->P, hs->P);
  for (q = 0; q < G; q++) {
    PetscReal *Q = gate + q * L, Fq = 0;
    for (l = 0; l < L; l++) {
      const PetscReal *b1 = theta + (q * L + l) * g->stride;
      PetscReal        s  = b1[d];
      for (j = 0; j < d; j++) s += b1[j] * x[j];
      Q[l] = s;
    }
    MoeSoftmax(L, Q, Q);
    for (l = 0; l < L; l++) Fq += Q[l] * h[q * L + l];
    hs->F[q] = Fq;
    sum += hs->P[q] * Fq;
    for (l = 0; l < L; l++) Q[l] *= hs->P[q]; /* gate = P_q Q_l */
  }
  *f = sum;
  if (J) {
    PetscReal *Jouter = J + g->k * g->stride;
    for (q = 0; q < G; q++) {
      PetscReal *Ja = Jouter + q * (d + 1), dfdu = hs->P[q] * (hs->F[q] - sum);
      for (j = 0; j < d; j++) Ja[j] = dfdu * x[j];
      Ja[d] = dfdu;
      for (l = 0; l < L; l++) {
        PetscInt   i    = q * L + l;
        PetscReal *Ji   = J + i * g->stride;
        PetscReal  dfds = gate[i] * (h[i] - hs->F[q]);
        for (j = 0; j < d; j++) Ji[j] = dfds * x[j];
        Ji[d] = dfds;
      }
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingPin_HSoftmax(MoeGating g, PetscBool *pin)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)g->data;
  PetscInt            q, j, d = g->d;

  PetscFunctionBegin;
  for (q = 0; q < hs->G; q++) {
    PetscInt i = q * hs->L + hs->L - 1;
    for (j = 0; j <= d; j++) pin[i * g->stride + j] = PETSC_TRUE;
  }
  for (j = 0; j <= d; j++) pin[g->k * g->stride + (hs->G - 1) * (d + 1) + j] = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingAtoms_HSoftmax(MoeGating g, const PetscReal *theta, PetscReal *loc, PetscReal *b0)
{
  MoeGating_HSoftmax *hs    = (MoeGating_HSoftmax *)g->data;
  const PetscReal    *outer = theta + g->k * g->stride;
  PetscInt            i, j, d = g->d;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    const PetscReal *a = outer + (i / hs->L) * (d + 1), *b = theta + i * g->stride;
    for (j = 0; j < d; j++) {
      loc[i * 2 * d + j]     = a[j];
      loc[i * 2 * d + d + j] = b[j];
    }
    b0[i] = a[d] + b[d];
  }
  PetscFunctionReturn(0);
}

/* Outer-level parameters of a drawn truth or a random start. */
static PetscErrorCode MoeGatingInitGlobals_HSoftmax(MoeGating g, void *rng, PetscReal var1, PetscReal var0, PetscReal *glob)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)g->data;
  PetscInt            q, j, d = g->d;

  PetscFunctionBegin;
  for (q = 0; q < hs->G; q++) {
    for (j = 0; j < d; j++) glob[q * (d + 1) + j] = rng ? gsl_ran_gaussian_ziggurat((gsl_rng *)rng, PetscSqrtReal(var1)) : 0;
    glob[q * (d + 1) + d] = rng ? gsl_ran_gaussian_ziggurat((gsl_rng *)rng, PetscSqrtReal(var0)) : 0;
  }
  PetscFunctionReturn(0);
}

/* Near-truth start against a hierarchical truth with G* groups of L* leaves: fitted
   group q copies true group map(q) and fitted leaf l copies true leaf map(l), with the
   generic one-level map at each level (extra groups and leaves split true ones). */
static PetscErrorCode MoeGatingAtomMap_HSoftmax(MoeGating fit, MoeGating truth, PetscInt *map)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)fit->data, *ht = (MoeGating_HSoftmax *)truth->data;
  PetscInt           *gmap, *lmap, q, l;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(hs->G, &gmap, hs->L, &lmap));
  PetscCall(MoeAtomMapDefault(hs->G, ht->G, gmap));
  PetscCall(MoeAtomMapDefault(hs->L, ht->L, lmap));
  for (q = 0; q < hs->G; q++)
    for (l = 0; l < hs->L; l++) map[q * hs->L + l] = gmap[q] * ht->L + lmap[l];
  PetscCall(PetscFree2(gmap, lmap));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingEmbedGlobals_HSoftmax(MoeGating fit, MoeGating truth, const PetscReal *tglob, const PetscInt *map, PetscReal *glob)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)fit->data, *ht = (MoeGating_HSoftmax *)truth->data;
  PetscInt           *gmap, *count, q, j, d = fit->d;

  PetscFunctionBegin;
  PetscCall(PetscCalloc2(hs->G, &gmap, ht->G, &count));
  PetscCall(MoeAtomMapDefault(hs->G, ht->G, gmap));
  for (q = 0; q < hs->G; q++) count[gmap[q]]++;
  for (q = 0; q < hs->G; q++) {
    const PetscReal *a = tglob + gmap[q] * (d + 1);
    for (j = 0; j < d; j++) glob[q * (d + 1) + j] = a[j];
    glob[q * (d + 1) + d] = a[d] - PetscLogReal((PetscReal)count[gmap[q]]);
  }
  PetscCall(PetscFree2(gmap, count));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingSetFromOptions_HSoftmax(MoeGating g, PetscOptions opts, const char prefix[])
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)g->data;
  const char         *pre = prefix ? prefix : "";

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetInt(opts, prefix, "-hsoftmax_groups", &hs->G, NULL));
  MoeUserCheck(hs->G >= 1 && hs->G <= g->k && g->k % hs->G == 0, "-%shsoftmax_groups %" PetscInt_FMT " does not divide k = %" PetscInt_FMT ": choose a number of groups G with k %% G == 0", pre, hs->G, g->k);
  hs->L      = g->k / hs->G;
  g->nglobal = hs->G * (g->d + 1);
  PetscCall(PetscFree2(hs->P, hs->F));
  PetscCall(PetscMalloc2(hs->G, &hs->P, hs->G, &hs->F));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDescribe_HSoftmax(MoeGating g, char *buf, size_t len)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, len, "-hsoftmax_groups %" PetscInt_FMT, hs->G));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDestroy_HSoftmax(MoeGating g)
{
  MoeGating_HSoftmax *hs = (MoeGating_HSoftmax *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscFree2(hs->P, hs->F));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_HSoftmax(MoeGating g)
{
  MoeGating_HSoftmax *hs;

  PetscFunctionBegin;
  PetscCall(PetscNew(&hs));
  hs->G                 = g->k % 2 == 0 ? 2 : 1;
  g->data               = hs;
  g->nloc               = 2 * g->d;
  g->ops.evaluate       = MoeGatingEvaluate_HSoftmax;
  g->ops.setfromoptions = MoeGatingSetFromOptions_HSoftmax;
  g->ops.pin            = MoeGatingPin_HSoftmax;
  g->ops.atoms          = MoeGatingAtoms_HSoftmax;
  g->ops.initglobals    = MoeGatingInitGlobals_HSoftmax;
  g->ops.atommap        = MoeGatingAtomMap_HSoftmax;
  g->ops.embedglobals   = MoeGatingEmbedGlobals_HSoftmax;
  g->ops.describe       = MoeGatingDescribe_HSoftmax;
  g->ops.destroy        = MoeGatingDestroy_HSoftmax;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-hsoftmax_groups", MOE_OPTION_INT, "2", "hierarchical softmax: number of groups G (G divides k)", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeGatingFamily MoeGatingFamily_HSoftmax = {"hsoftmax", MoeGatingCreate_HSoftmax, MOE_MASS_EXP, "softmax_d1,softmax_dlin", NULL, options, "hierarchical softmax gating: softmax over groups times softmax within a group", PETSC_TRUE};
