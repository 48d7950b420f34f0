/*
   Internals of the gating and expert families (as PETSc keeps include/petsc/private/):
   included by the family files (src/gating/, src/expert/) and by src/model/, which offers
   everything the other rooms need through the MoeModel interface of moemodel.h.
*/
#ifndef MOE_PRIVATE_MODELIMPL_H
#define MOE_PRIVATE_MODELIMPL_H

#include <moemodel.h>

/* ---------------- gating families ---------------- */
typedef struct {
  /* Read family options (-<prefix>topk_K, ...) and set nglobal. */
  PetscErrorCode (*setfromoptions)(MoeGating, PetscOptions, const char[]);
  /* f = sum_i gate_i h_i at x.  theta is the full vector (atom stride g->stride).
     If J is not NULL, write df/d(gating parameters) into J (full layout; only the
     gating entries of each atom and the globals are touched). gate[] receives the
     gates, which are df/dh_i. */
  PetscErrorCode (*evaluate)(MoeGating, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J);
  /* Affine-score families, whose gates depend on x only through the scores
     s_i = beta1_i^T x + beta0_i: f and the gates from the k scores and the globals glob;
     dfds[i] = df/ds_i and dglob = df/d(globals) when not NULL.  A family that sets it gets
     evaluate from it (MoeGatingEvaluate_Scores), and src/model/block.c forms the scores and
     the gradient of a block of rows with BLAS.  NULL: the family evaluates rows itself. */
  PetscErrorCode (*scores)(MoeGating, const PetscReal *glob, const PetscReal *s, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *dfds, PetscReal *dglob);
  /* Mark pinned entries of the full vector (pin[] preset to FALSE). */
  PetscErrorCode (*pin)(MoeGating, PetscBool *pin);
  /* beta0 for fitted atom i, one of c atoms that split a true atom with bias b0, so that the split
     atoms carry the same total gate mass as the true one. */
  PetscErrorCode (*splitbias)(MoeGating, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b0split);
  /* Voronoi view of the atoms: location (nloc entries per atom) and beta0. */
  PetscErrorCode (*atoms)(MoeGating, const PetscReal *theta, PetscReal *loc, PetscReal *b0);
  /* Values of the globals for a drawn truth or a random start: family defaults, and
     for globals that are gating parameters, draws from N(0, var1) (slopes) and
     N(0, var0) (biases) when rng is not NULL. */
  PetscErrorCode (*initglobals)(MoeGating, void *rng, PetscReal var1, PetscReal var0, PetscReal *glob);
  /* Near-truth start: atom map (fitted atom -> true atom) and globals copied from a
     truth of the same family.  NULL: the generic map MoeAtomMapDefault. */
  PetscErrorCode (*atommap)(MoeGating fit, MoeGating truth, PetscInt *map);
  PetscErrorCode (*embedglobals)(MoeGating fit, MoeGating truth, const PetscReal *tglob, const PetscInt *map, PetscReal *glob);
  /* Lower bounds of the globals (e.g. tau > 0), written only where bounded; NULL: unbounded. */
  PetscErrorCode (*globalbounds)(MoeGating, PetscReal *lower);
  /* Family settings as options without prefix, e.g. "-topk_K 2": printed in summaries,
     stored as the "gating_options" attribute and read back from truth files. */
  PetscErrorCode (*describe)(MoeGating, char *, size_t);
  /* A family with a discrete selection (top-K) and a soft version of it: the selection
     temperature (0: hard).  NULL: nothing to anneal. */
  PetscErrorCode (*settemperature)(MoeGating, PetscReal);
  PetscErrorCode (*gettemperature)(MoeGating, PetscReal *);
  PetscErrorCode (*destroy)(MoeGating);
} MoeGatingOps;

struct _p_MoeGating {
  MoeGatingOps           ops;
  const MoeGatingFamily *family;
  PetscInt               k, d;    /* atoms, input dimension */
  PetscInt               stride;  /* entries per atom in theta */
  PetscInt               nglobal; /* gating globals at theta[k*stride] */
  PetscInt               nloc;    /* length of an atom's gating location (Voronoi) */
  PetscInt               active;  /* atoms with a non-zero gate at any x (K for top-K, else k) */
  PetscReal             *s, *dfds; /* work of MoeGatingEvaluate_Scores: k scores, their derivatives */
  PetscInt              *part;    /* the part of each atom (shared experts: 0 shared, 1 routed), NULL: one part; freed by MoeGatingDestroy */
  const MoeExpertFamily *part_expert; /* the expert family of part 0 when it is not the model's (-shared_expert), else NULL */
  void                  *data; /* freed by MoeGatingDestroy after ops.destroy */
};

PETSC_EXTERN PetscErrorCode MoeGatingCreate(const char[], PetscInt k, PetscInt d, PetscInt stride, PetscOptions, const char prefix[], MoeGating *);
PETSC_EXTERN PetscErrorCode MoeGatingDestroy(MoeGating *);

/* sigmoid(z), written so that exp() never overflows (the sigmoid-type families). */
static inline PetscReal MoeSigmoid(PetscReal z)
{
  if (z >= 0) return 1.0 / (1.0 + PetscExpReal(-z));
  PetscReal e = PetscExpReal(z);
  return e / (1.0 + e);
}

/* Shared by the softmax-type families. */
PETSC_EXTERN void           MoeSoftmax(PetscInt, const PetscReal *s, PetscReal *g);
PETSC_EXTERN PetscErrorCode MoeGatingEvaluate_Scores(MoeGating, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J);
PETSC_EXTERN PetscErrorCode MoeGatingPinLastAtom(MoeGating, PetscBool *);
/* The splits of the exp and the normalised sigmoid masses (what a family with several routers combines). */
PETSC_EXTERN PetscErrorCode MoeGatingSplitBias_Exp(MoeGating, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b);
PETSC_EXTERN PetscErrorCode MoeGatingSplitBias_NSigmoid(MoeGating, PetscInt i, PetscReal b0, PetscInt c, PetscReal *b);
PETSC_EXTERN PetscErrorCode MoeAtomMapDefault(PetscInt k, PetscInt kstar, PetscInt *map);

/* ---------------- expert families ---------------- */
typedef struct {
  /* h = h(x, eta); if dh is not NULL, dh[0..ne) = dh/deta. */
  PetscErrorCode (*evaluate)(MoeExpert, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh);
  PetscErrorCode (*destroy)(MoeExpert);
} MoeExpertOps;

/* An FFN activation phi and its derivative. */
typedef PetscReal (*MoeActivationFn)(PetscReal);

struct _p_MoeExpert {
  MoeExpertOps           ops;
  const MoeExpertFamily *family;
  PetscInt               d;
  PetscInt               ne;        /* parameters per expert */
  MoeActivationFn        phi, dphi; /* FFN experts (ridge experts: h depends on x through a^T x + b alone) */
  void                  *data;
};

PETSC_EXTERN PetscErrorCode MoeExpertCreate(const char[], PetscInt d, MoeExpert *);
PETSC_EXTERN PetscErrorCode MoeExpertDestroy(MoeExpert *);
/* FFN experts: phi(a^T x + b) for a given activation. */
PETSC_EXTERN PetscErrorCode MoeExpertSetUpFFN(MoeExpert, MoeActivationFn, MoeActivationFn);
/* h = h(x, eta_i) of atom i by its part's expert family (eta_i = theta + i stride + ng, m->ne
   entries); with dh, dh/deta_i (m->ne entries). */
PETSC_EXTERN PetscErrorCode MoeModelExpertEvaluate(MoeModel, PetscInt i, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh);

/* ---------------- model types (src/model/gaussian.c, src/model/contaminated.c) ---------------- */
PETSC_EXTERN PetscErrorCode MoeModelSetUpContaminated(MoeModel, PetscOptions);
PETSC_EXTERN PetscErrorCode MoeModelPinContaminated(MoeModel, PetscBool *pin);
PETSC_EXTERN PetscErrorCode MoeModelDestroyBase(MoeModel);
PETSC_EXTERN PetscErrorCode MoeModelLogDensity_Contaminated(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *logp, PetscReal *grad);

#endif
