/*
   Mixture-of-experts regression models f_G(x) = sum_i gate_i(x) h(x, eta_i).

   Parameter layout (the "full" vector theta, length p = k*stride + nglobal):

     theta = [ atom_0 | atom_1 | ... | atom_{k-1} | globals ]
     atom_i = [ beta1_i (d) | beta0_i | eta_i (ne) ]        stride = d + 1 + ne
     eta_i  = [ a_i (d) | b_i ]   for FFN and linear experts (ne = d + 1)
            = [ b_i ]             for input-independent experts (ne = 1)
     globals: gating-specific (dts with fitted temperature: [tau];
              hsoftmax: the outer level [alpha1_g (d) | alpha0_g] for g < groups)

   Softmax-type gatings are invariant to a common shift of the scores, so they pin
   some gating parameters to zero (the last atom; for hsoftmax the last group and the
   last leaf of every group).  The fit works on the "free" vector: theta without the
   pinned entries, in the same order.

   Gating and expert families are registered by name in function lists (as PETSc
   registers TAO types): adding a family is one source file and one line in
   src/gating/register.c or src/expert/register.c.
*/
#ifndef MOEMODEL_H
#define MOEMODEL_H

#include <moerate.h>

typedef struct _p_MoeGating *MoeGating;
typedef struct _p_MoeExpert *MoeExpert;
typedef struct _p_MoeModel  *MoeModel;

/* ---------------- gating families ---------------- */
typedef struct {
  /* Read family options (-<prefix>topk_K, ...) and set nglobal. */
  PetscErrorCode (*setfromoptions)(MoeGating, PetscOptions, const char[]);
  /* f = sum_i gate_i h_i at x.  theta is the full vector (atom stride g->stride).
     If J is not NULL, write df/d(gating parameters) into J (full layout; only the
     gating entries of each atom and the globals are touched). gate[] receives the
     gates, which are df/dh_i. */
  PetscErrorCode (*evaluate)(MoeGating, const PetscReal *theta, const PetscReal *x, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *J);
  /* Mark pinned entries of the full vector (pin[] preset to FALSE). */
  PetscErrorCode (*pin)(MoeGating, PetscBool *pin);
  /* beta0 for each of c atoms that split a true atom with bias b0, so that the split
     atoms carry the same total gate mass as the true one. */
  PetscErrorCode (*splitbias)(MoeGating, PetscReal b0, PetscInt c, PetscReal *b0split);
  /* Voronoi view of the atoms: location (nloc entries per atom) and beta0. */
  PetscErrorCode (*atoms)(MoeGating, const PetscReal *theta, PetscReal *loc, PetscReal *b0);
  /* Values of the globals for a drawn truth or a random start: family defaults, and
     for globals that are gating parameters, draws from N(0, var1) (slopes) and
     N(0, var0) (biases) when rng is not NULL. */
  PetscErrorCode (*initglobals)(MoeGating, void *rng, PetscReal var1, PetscReal var0, PetscReal *glob);
  /* Near-truth start: atom map (fitted atom -> true atom) and globals copied from a
     truth of the same family.  NULL: the generic map of src/data/init.c. */
  PetscErrorCode (*atommap)(MoeGating fit, MoeGating truth, PetscInt *map);
  PetscErrorCode (*embedglobals)(MoeGating fit, MoeGating truth, const PetscReal *tglob, const PetscInt *map, PetscReal *glob);
  /* Lower bounds of the globals (e.g. tau > 0), written only where bounded; NULL: unbounded. */
  PetscErrorCode (*globalbounds)(MoeGating, PetscReal *lower);
  /* Family settings as options without prefix, e.g. "-topk_K 2": printed in summaries,
     stored as the "gating_options" attribute and read back from truth files. */
  PetscErrorCode (*describe)(MoeGating, char *, size_t);
  PetscErrorCode (*destroy)(MoeGating);
} MoeGatingOps;

struct _p_MoeGating {
  MoeGatingOps ops;
  char         type[64];
  PetscInt     k, d;     /* atoms, input dimension */
  PetscInt     stride;   /* entries per atom in theta */
  PetscInt     nglobal;  /* gating globals at theta[k*stride] */
  PetscInt     nloc;     /* length of an atom's gating location (Voronoi) */
  PetscInt     active;   /* atoms with a non-zero gate at any x (K for top-K, else k) */
  PetscBool    softmax;  /* mass of an atom is exp(beta0) (else sigmoid(beta0)) */
  void        *data;
};

PETSC_EXTERN PetscFunctionList MoeGatingList;
/* Every family option of every gating family (without prefix), NULL-terminated. */
PETSC_EXTERN const char *const MoeGatingOptionNames[];
PETSC_EXTERN PetscErrorCode MoeGatingRegister(const char[], PetscErrorCode (*)(MoeGating));
PETSC_EXTERN PetscErrorCode MoeGatingRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeGatingCreate(const char[], PetscInt k, PetscInt d, PetscInt stride, PetscOptions, const char prefix[], MoeGating *);
PETSC_EXTERN PetscErrorCode MoeGatingDestroy(MoeGating *);
PETSC_EXTERN PetscErrorCode MoeGatingTypesString(char *, size_t);

/* Shared by the softmax-type families. */
PETSC_EXTERN void           MoeSoftmax(PetscInt, const PetscReal *s, PetscReal *g);
PETSC_EXTERN PetscErrorCode MoeGatingPinLastAtom(MoeGating, PetscBool *);
PETSC_EXTERN PetscErrorCode MoeAtomMapDefault(PetscInt k, PetscInt kstar, PetscInt *map);
PETSC_EXTERN PetscErrorCode MoeFunctionListNames(PetscFunctionList, char *, size_t);

/* ---------------- expert families ---------------- */
typedef struct {
  /* h = h(x, eta); if dh is not NULL, dh[0..ne) = dh/deta. */
  PetscErrorCode (*evaluate)(MoeExpert, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh);
  PetscErrorCode (*destroy)(MoeExpert);
} MoeExpertOps;

/* An FFN activation phi and its derivative. */
typedef PetscReal (*MoeActivationFn)(PetscReal);

struct _p_MoeExpert {
  MoeExpertOps    ops;
  char            type[64];
  PetscInt        d;
  PetscInt        ne;        /* parameters per expert */
  PetscBool       hinge;     /* phi bends at 0 (ReLU, GELU): the expert is identified only where
                                a^T x + b changes sign over the inputs */
  MoeActivationFn phi, dphi; /* FFN experts */
  void           *data;
};

PETSC_EXTERN PetscFunctionList MoeExpertList;
PETSC_EXTERN PetscErrorCode MoeExpertRegister(const char[], PetscErrorCode (*)(MoeExpert));
PETSC_EXTERN PetscErrorCode MoeExpertRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeExpertCreate(const char[], PetscInt d, MoeExpert *);
PETSC_EXTERN PetscErrorCode MoeExpertDestroy(MoeExpert *);
PETSC_EXTERN PetscErrorCode MoeExpertTypesString(char *, size_t);
/* FFN experts: phi(a^T x + b) for a given activation. */
PETSC_EXTERN PetscErrorCode MoeExpertSetUpFFN(MoeExpert, MoeActivationFn, MoeActivationFn, PetscBool hinge);

/* ---------------- the model ---------------- */
struct _p_MoeModel {
  MoeGating  gating;
  MoeExpert  expert;
  PetscInt   k, d, stride, ng, ne, nglobal;
  PetscInt   p;       /* full parameter count */
  PetscInt   pfree;   /* free (fitted) parameters */
  PetscInt  *ifree;   /* ifree[j] = index in the full vector of free parameter j */
  PetscBool *pinned;  /* pinned[i] for the full vector */
  PetscReal *h, *gate, *dh; /* work: expert values, gates, expert derivative */
};

PETSC_EXTERN PetscErrorCode MoeModelCreate(const char gating[], const char expert[], PetscInt k, PetscInt d, PetscOptions, const char prefix[], MoeModel *);
PETSC_EXTERN PetscErrorCode MoeModelDestroy(MoeModel *);
PETSC_EXTERN PetscErrorCode MoeModelEvaluate(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal *f);
PETSC_EXTERN PetscErrorCode MoeModelEvaluateRow(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal *f, PetscReal *J);
PETSC_EXTERN PetscErrorCode MoeModelEvaluateMany(MoeModel, const PetscReal *theta, PetscInt n, const PetscReal *X, PetscReal *F);
PETSC_EXTERN PetscErrorCode MoeModelFreeToFull(MoeModel, const PetscReal *xfree, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeModelFullToFree(MoeModel, const PetscReal *theta, PetscReal *xfree);
PETSC_EXTERN PetscErrorCode MoeModelPinParameters(MoeModel, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeModelLowerBounds(MoeModel, PetscReal *lower);
PETSC_EXTERN PetscErrorCode MoeModelDescribe(MoeModel, char *, size_t);
PETSC_EXTERN PetscErrorCode MoeModelSameFamilies(MoeModel, MoeModel, PetscBool *);
PETSC_EXTERN PetscErrorCode MoeModelParameterName(MoeModel, PetscInt i, char *, size_t);
PETSC_EXTERN PetscErrorCode MoeModelDescribeDirection(MoeModel, const PetscReal *vfree, char *, size_t);
/* Fisher information J^T J / n of the free parameters at theta over n inputs X (src/model/fisher.c):
   its eigenvalues, ascending, and optionally the eigenvector of the smallest. */
PETSC_EXTERN PetscErrorCode MoeModelFisher(MoeModel, const PetscReal *theta, PetscInt n, const PetscReal *X, PetscReal *eig, PetscReal *vmin);
PETSC_EXTERN PetscReal      MoeFisherSd(PetscReal noise, PetscInt n, const PetscReal *eig, PetscInt p);

static inline const PetscReal *MoeAtom(MoeModel m, const PetscReal *theta, PetscInt i)
{
  return theta + i * m->stride;
}

#endif
