/* Gating families: the registry of their traits, creation by name, defaults shared by all
   families. */
#include <moe/private/modelimpl.h>

const char *const MoeMasses[] = {"sigmoid", "exp", "MoeMass", "MOE_MASS_", NULL};

static MoeRegistry registry = {"gating families", 0, {NULL}, {NULL}};

MOE_REGISTRY_FRONT_END(MoeGating, MoeGatingFamily, registry, MoeGatingRegisterAll)

/* Is `loss` one of the family's Voronoi losses (natural or against G-bar)? */
PetscBool MoeGatingFamilyHasLoss(const MoeGatingFamily *f, const char loss[])
{
  return (PetscBool)(MoeNameInList(loss, f->losses) || MoeNameInList(loss, f->misfit_losses));
}

/* Declare every family's options (with prefix, e.g. "truth_") for -help and for the spec:
   one block per family.  The families read their values themselves at creation. */
PetscErrorCode MoeGatingFamilyOptionsDeclare(MPI_Comm comm, const char prefix[])
{
  PetscInt i;
  char     title[128];

  PetscFunctionBegin;
  PetscCall(MoeGatingRegisterAll());
  for (i = 0; i < registry.n; i++) {
    const MoeGatingFamily *f = (const MoeGatingFamily *)registry.items[i];
    if (!f->options) continue;
    PetscCall(PetscSNPrintf(title, sizeof(title), "moerate %s: %s gating family", prefix ? "truth" : "spec", f->name));
    PetscCall(MoeFamilyOptionsDeclare(comm, prefix, title, f->options));
  }
  PetscFunctionReturn(0);
}

/* Numerically safe softmax; g may alias s. */
void MoeSoftmax(PetscInt n, const PetscReal *s, PetscReal *g)
{
  PetscInt  i;
  PetscReal m = s[0], z = 0;

  for (i = 1; i < n; i++) m = PetscMax(m, s[i]);
  for (i = 0; i < n; i++) {
    g[i] = PetscExpReal(s[i] - m);
    z += g[i];
  }
  for (i = 0; i < n; i++) g[i] /= z;
}

/* A row of an affine-score family: the scores s_i = beta1_i^T x + beta0_i, the family's
   scores op, and J's gating entries df/ds_i (x, 1) and globals. */
PetscErrorCode MoeGatingEvaluate_Scores(MoeGating g, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J)
{
  PetscInt i, j, d = g->d;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    const PetscReal *b1 = theta + i * g->stride;
    PetscReal        s  = b1[d];
    for (j = 0; j < d; j++) s += b1[j] * x[j];
    g->s[i] = s;
  }
  PetscCall((*g->ops.scores)(g, theta + g->k * g->stride, g->s, h, f, gate, J ? g->dfds : NULL, J ? J + g->k * g->stride : NULL));
  if (J) {
    for (i = 0; i < g->k; i++) {
      PetscReal *Ji = J + i * g->stride, dfds = g->dfds[i];
      for (j = 0; j < d; j++) Ji[j] = dfds * x[j];
      Ji[d] = dfds;
    }
  }
  PetscFunctionReturn(0);
}

/* Softmax-type families pin the last atom's (beta1, beta0). */
PetscErrorCode MoeGatingPinLastAtom(MoeGating g, PetscBool *pin)
{
  PetscInt j;

  PetscFunctionBegin;
  for (j = 0; j <= g->d; j++) pin[(g->k - 1) * g->stride + j] = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* The generic near-truth map from k fitted atoms to k* true atoms: atoms i < k*-1 copy
   true atom i, the last fitted atom copies the last true atom (both pinned in softmax-type
   families), and the k - k* extra atoms split true atoms 0, 1, 2, ... in turn. */
PetscErrorCode MoeAtomMapDefault(PetscInt k, PetscInt kstar, PetscInt *map)
{
  PetscInt i;

  PetscFunctionBegin;
  for (i = 0; i < k; i++) {
    if (i < kstar - 1) map[i] = i;
    else if (i == k - 1) map[i] = kstar - 1;
    else map[i] = (i - (kstar - 1)) % kstar;
  }
  PetscFunctionReturn(0);
}

/* c atoms with exp(b) = exp(b0)/c carry the softmax mass of one atom with bias b0. */
PetscErrorCode MoeGatingSplitBias_Exp(MoeGating g, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b)
{
  PetscFunctionBegin;
  *b = b0 - PetscLogReal((PetscReal)c);
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingAtoms_Default(MoeGating g, const PetscReal *theta, PetscReal *loc, PetscReal *b0)
{
  PetscInt i, j;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) {
    for (j = 0; j < g->d; j++) loc[i * g->d + j] = theta[i * g->stride + j];
    b0[i] = theta[i * g->stride + g->d];
  }
  PetscFunctionReturn(0);
}

/* "name1, name2, ..." of a function list, for help and error messages. */
/* Create gating family `type` for k atoms in dimension d; family options are read
   from `opts` with `prefix` (e.g. "truth_"). */
PetscErrorCode MoeGatingCreate(const char type[], PetscInt k, PetscInt d, PetscInt stride, PetscOptions opts, const char prefix[], MoeGating *gating)
{
  const MoeGatingFamily *f = NULL;
  MoeGating              g;

  PetscFunctionBegin;
  PetscCall(MoeGatingFamilyFind(type, &f));
  if (!f) {
    char known[256];
    PetscCall(MoeGatingTypesString(known, sizeof(known)));
    char opt[64];
    PetscCall(PetscSNPrintf(opt, sizeof(opt), "-%sgating", prefix ? prefix : ""));
    PetscCall(MoeUnknownName(opt, type, "gating family", known));
  }
  PetscCall(PetscNew(&g));
  g->family        = f;
  g->k             = k;
  g->d             = d;
  g->stride        = stride;
  g->nloc          = d;
  g->active        = k;
  g->ops.atoms     = MoeGatingAtoms_Default;
  g->ops.splitbias = MoeGatingSplitBias_Exp;
  PetscCall(PetscMalloc2(k, &g->s, k, &g->dfds));
  PetscCall((*f->create)(g));
  if (g->ops.scores && !g->ops.evaluate) g->ops.evaluate = MoeGatingEvaluate_Scores;
  if (g->ops.setfromoptions) PetscCall((*g->ops.setfromoptions)(g, opts, prefix));
  *gating = g;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeGatingDestroy(MoeGating *g)
{
  PetscFunctionBegin;
  if (!*g) PetscFunctionReturn(0);
  if ((*g)->ops.destroy) PetscCall((*(*g)->ops.destroy)(*g)); /* what data owns */
  PetscCall(PetscFree((*g)->data));
  PetscCall(PetscFree((*g)->part));
  PetscCall(PetscFree2((*g)->s, (*g)->dfds));
  PetscCall(PetscFree(*g));
  PetscFunctionReturn(0);
}

/* Every option of every gating family and of the model types, NULL-terminated (truth files carry them). */
PetscErrorCode MoeFamilyOptionNames(const char ***names)
{
  static const char *list[4 * MOE_MAX_FAMILIES + 1];
  static PetscBool   done = PETSC_FALSE;
  const MoeGatingFamily *const *f;
  PetscInt n = 0, i, c = 0;

  PetscFunctionBegin;
  if (!done) {
    PetscCall(MoeGatingFamilies(&n, &f));
    for (i = 0; i < n; i++)
      for (const MoeFamilyOption *o = f[i]->options; o && o->name && c < 4 * MOE_MAX_FAMILIES; o++) list[c++] = o->name;
    for (const MoeFamilyOption *o = MoeModelOptions(); o->name && c < 4 * MOE_MAX_FAMILIES; o++) list[c++] = o->name;
    list[c] = NULL;
    done    = PETSC_TRUE;
  }
  *names = list;
  PetscFunctionReturn(0);
}
