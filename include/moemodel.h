/*
   Mixture-of-experts regression models f_G(x) = sum_i gate_i(x) h(x, eta_i).

   Parameter layout (the "full" vector theta, length p = k*stride + nglobal):

     theta = [ atom_0 | atom_1 | ... | atom_{k-1} | globals ]
     atom_i = [ beta1_i (d) | beta0_i | eta_i (ne) ]        stride = d + 1 + ne
            = [ beta1_i (d) | beta0_i | eta_i (ne) | sigma_i ]  for the Gaussian MoE (-model gaussian)
     eta_i  = [ a_i (d) | b_i ]   for FFN and linear experts (ne = d + 1)
            = [ b_i ]             for input-independent experts (ne = 1)
     globals: gating-specific (dts with fitted temperature: [tau];
              hsoftmax: the outer level [alpha1_g (d) | alpha0_g] for g < groups)

   Softmax-type gatings are invariant to a common shift of the scores, so they pin
   some gating parameters to zero (the last atom; for hsoftmax the last group and the
   last leaf of every group).  The fit works on the "free" vector: theta without the
   pinned entries, in the same order.

   Gating and expert families are registered as PETSc registers TAO types: a family is one
   source file, which ends with its traits (a MoeGatingFamily or MoeExpertFamily: name,
   constructor, what the other rooms need to know), and one line in src/gating/register.c or
   src/expert/register.c.  src/expert/softplus.c is a complete example.
*/
#ifndef MOEMODEL_H
#define MOEMODEL_H

#include <moerate.h>
#include <moeregistry.h>

typedef struct _p_MoeGating *MoeGating;
typedef struct _p_MoeExpert *MoeExpert;
typedef struct _p_MoeModel  *MoeModel;

/* ---------------- families and their traits ----------------
   A family declares what the rest of moerate needs to know about it in one constant
   struct in its own file (src/gating/<name>.c, src/expert/<name>.c), registered by one
   line in its register.c.  Nothing outside a family's file compares its name: the other
   rooms read these traits.  The internals (evaluation, pinning, atom views) are in
   include/moe/private/modelimpl.h, for the family files and src/model/ alone. */



/* The mass of an atom in the Voronoi losses: sigmoid(beta0) or exp(beta0). */
typedef enum {
  MOE_MASS_SIGMOID,
  MOE_MASS_EXP
} MoeMass;
PETSC_EXTERN const char *const MoeMasses[];

typedef struct {
  const char *name;
  PetscErrorCode (*create)(MoeGating);
  MoeMass     mass;
  const char *losses;        /* Voronoi losses of its fits (comma list), chosen by -losses auto */
  const char *misfit_losses; /* Voronoi losses against the reference G-bar (comma list), chosen by
                                -losses auto when the truth is not of this gating or is in Regime 2 */
  const MoeFamilyOption *options;
  const char *meaning;
  PetscBool   sums_to_one; /* the gates sum to one at every x: the family serves the Gaussian MoE */
} MoeGatingFamily;

/* Identifiability of an expert family in the sense of the papers: it decides which theory
   rates apply (analysis/rates.py reads it from the results file). */
typedef enum {
  MOE_IDENTIFIABLE_STRONG,  /* strongly identifiable [P1 Def. 1]: sigmoid, tanh, ReLU, GELU, ... */
  MOE_IDENTIFIABLE_LINEAR,  /* linear in x (a^T x + b): not strongly identifiable, interacts with the gating */
  MOE_IDENTIFIABLE_CONSTANT /* input-independent (b): not strongly identifiable */
} MoeIdentifiability;
PETSC_EXTERN const char *const MoeIdentifiabilities[];

typedef struct {
  const char *name;
  PetscErrorCode (*create)(MoeExpert);
  MoeIdentifiability identifiability;
  PetscBool   hinge; /* phi bends at 0 (ReLU, GELU): the expert is identified only where a^T x + b
                        changes sign over the inputs (truth screening, src/data/screen.c) */
  const char *meaning;
} MoeExpertFamily;

PETSC_EXTERN PetscErrorCode MoeGatingRegister(const MoeGatingFamily *);
PETSC_EXTERN PetscErrorCode MoeGatingRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeGatingFamilyFind(const char[], const MoeGatingFamily **);
PETSC_EXTERN PetscErrorCode MoeGatingFamilies(PetscInt *, const MoeGatingFamily *const **);
PETSC_EXTERN PetscErrorCode MoeGatingTypesString(char *, size_t);
PETSC_EXTERN PetscBool      MoeGatingFamilyHasLoss(const MoeGatingFamily *, const char loss[]);
PETSC_EXTERN PetscErrorCode MoeGatingFamilyOptionsDeclare(MPI_Comm, const char prefix[]);

PETSC_EXTERN PetscErrorCode MoeExpertRegister(const MoeExpertFamily *);
PETSC_EXTERN PetscErrorCode MoeExpertRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeExpertFamilyFind(const char[], const MoeExpertFamily **);
PETSC_EXTERN PetscErrorCode MoeExpertFamilies(PetscInt *, const MoeExpertFamily *const **);
PETSC_EXTERN PetscErrorCode MoeExpertTypesString(char *, size_t);

/* Every option of every gating family, NULL-terminated (truth files carry them). */
PETSC_EXTERN PetscErrorCode MoeFamilyOptionNames(const char ***);

/* ---------------- the model ----------------
   Three model types (-model):
     regression    Y = f_G(X) + N(0, nu), f_G(x) = sum_i gate_i(x) h(x, eta_i)          (P1, P2)
     gaussian      Y | X ~ sum_i gate_i(X) N(h(X, eta_i), sigma_i^2): a latent expert drawn with
                   probabilities gate(X), then Y from its Gaussian; sigma_i > 0 is a parameter of
                   each atom (P3, the dense-to-sparse paper).  The gates must sum to one (a gating
                   family with sums_to_one).  Its mean function is f_G.
     contaminated  Y | X ~ (1 - g(X)) f0(h0(X), nu0) + g(X) N(h(X, eta), nu): a frozen, known base
                   density f0 contaminated by one fitted Gaussian expert with a sigmoid gate g
                   (arXiv 2505.18455); nu > 0, a variance, is the atom's noise parameter
                   (src/model/contaminated.c says how the base is set).
   The two likelihood models (ns = 1) are fitted by maximum likelihood. */
#define MOE_SIGMA_MIN 1e-6 /* lower bound of a Gaussian expert's sigma in a fit */

typedef enum {
  MOE_MODEL_REGRESSION,
  MOE_MODEL_GAUSSIAN,
  MOE_MODEL_CONTAMINATED
} MoeModelType;
PETSC_EXTERN const char *const MoeModelTypes[];

/* The frozen base of the contaminated MoE. */
typedef enum {
  MOE_BASE_GAUSSIAN,
  MOE_BASE_LAPLACE
} MoeBaseDensity;
PETSC_EXTERN const char *const MoeBaseDensities[];
typedef struct {
  MoeBaseDensity type;
  PetscReal     *eta; /* the base expert's parameters (eta0, 0): d + 1 entries */
  PetscReal      nu;  /* its variance */
  PetscBool      bias; /* the contamination expert's bias is fitted (else pinned to 0) */
} MoeBase;
/* The options of the model types (the contaminated MoE's base), NULL-terminated: read without prefix,
   the same for the truth and the fit, and carried by truth files as the gating families' are. */
PETSC_EXTERN const MoeFamilyOption *MoeModelOptions(void);

struct _p_MoeModel {
  MoeGating  gating; /* family internals: src/model/ and the families only */
  MoeExpert  expert;
  MoeExpert  pexpert; /* part 0's experts when the gating gives them another family (-shared_expert), else NULL */
  const MoeGatingFamily *gfamily; /* their traits, for everyone */
  const MoeExpertFamily *efamily;
  MoeModelType           type;
  PetscInt               ns; /* per-atom noise parameters after eta: 1 (sigma_i; nu for the contaminated MoE) for a likelihood model, else 0 */
  MoeBase               *base; /* the contaminated MoE's frozen base, else NULL */
  PetscInt   k, d, stride, ng, ne, nglobal;
  PetscInt   p;       /* full parameter count */
  PetscInt   pfree;   /* free (fitted) parameters */
  PetscInt  *ifree;   /* ifree[j] = index in the full vector of free parameter j */
  PetscBool *pinned;  /* pinned[i] for the full vector */
  PetscReal *h, *gate, *dh; /* work: expert values, gates, expert derivative */
  PetscReal *eb, *db;       /* work of MoeModelExpertEvaluate: a shorter expert's eta and dh */
  PetscReal *bS, *bZ, *bQ;  /* work of src/model/block.c, for up to bcap rows */
  PetscInt   bcap;
  PetscReal  sigma_lo; /* a fit's lower bound of every sigma_i: MOE_SIGMA_MIN, or the compact parameter space's (-mle_sigma_floor) */
};

/* The model type is the option -model of opts (regression by default). */
PETSC_EXTERN PetscErrorCode MoeModelCreate(const char gating[], const char expert[], PetscInt k, PetscInt d, PetscOptions, const char prefix[], MoeModel *);
/* Gaussian MoE (src/model/gaussian.c): log p(y | x) and its gradient (full layout, may be NULL);
   the mean log-likelihood of a sample and its gradient; the gates and expert means at x; the
   empirical Fisher information (1/n) sum s s^T of the scores s at (X, Y), eigenvalues ascending. */
PETSC_EXTERN PetscErrorCode MoeModelLogDensity(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *logp, PetscReal *grad);
PETSC_EXTERN PetscErrorCode MoeModelLogLikelihood(MoeModel, const PetscReal *theta, PetscInt n, const PetscReal *X, const PetscReal *Y, PetscReal *ll, PetscReal *grad);
/* A draw of Y | X = x from the contaminated MoE at theta (rng: a gsl_rng; one uniform, then one Gaussian or Laplace deviate). */
PETSC_EXTERN PetscErrorCode MoeModelDrawContaminated(MoeModel, const PetscReal *theta, const PetscReal *x, void *rng, PetscReal *y);
PETSC_EXTERN PetscErrorCode MoeModelComponents(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal *gate, PetscReal *mean);
/* EM's pieces (src/fit/em.c): the responsibilities at (x, y) (with log p and the score), the gating part sum_i w_i log g_i(x)
   of the expected complete log-likelihood and its gradient in the gating parameters, one expert's mean. */
PETSC_EXTERN PetscErrorCode MoeModelResponsibilities(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *resp, PetscReal *logp, PetscReal *grad);
PETSC_EXTERN PetscErrorCode MoeModelGatingLogLikelihood(MoeModel, const PetscReal *theta, const PetscReal *x, const PetscReal *w, PetscReal *q, PetscReal *grad);
PETSC_EXTERN PetscErrorCode MoeModelExpertMean(MoeModel, const PetscReal *theta, PetscInt i, const PetscReal *x, PetscReal *h, PetscReal *dh);
PETSC_EXTERN PetscErrorCode MoeModelFisherScores(MoeModel, const PetscReal *theta, PetscInt n, const PetscReal *X, const PetscReal *Y, PetscReal *eig, PetscReal *vmin);
/* Entries per atom in the Voronoi view of the experts: eta, and for the Gaussian MoE sigma, placed
   before b ([a | sigma | b]) so that the losses' "a" part (exponent rbar/2 in P3) holds a and sigma. */
PETSC_EXTERN PetscInt       MoeModelExpertSize(MoeModel);
PETSC_EXTERN PetscErrorCode MoeModelDestroy(MoeModel *);
/* The lower bound of every sigma_i in the fits that follow (at least MOE_SIGMA_MIN). */
PETSC_EXTERN PetscErrorCode MoeModelSetSigmaLowerBound(MoeModel, PetscReal);
PETSC_EXTERN PetscErrorCode MoeModelEvaluate(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal *f);
PETSC_EXTERN PetscErrorCode MoeModelEvaluateRow(MoeModel, const PetscReal *theta, const PetscReal *x, PetscReal *f, PetscReal *J);
PETSC_EXTERN PetscErrorCode MoeModelEvaluateMany(MoeModel, const PetscReal *theta, PetscInt n, const PetscReal *X, PetscReal *F);
/* Blocks of rows through BLAS (src/model/block.c), for an affine-score gating with ridge experts
   (MoeModelHasBlocks): f of nb rows and each row's MoeModelBlockFactors factors, from which
   grad += sum_r w_r J_r (full layout) and J's rows (free columns) follow without a family call. */
PETSC_EXTERN PetscBool      MoeModelHasBlocks(MoeModel);
PETSC_EXTERN PetscInt       MoeModelBlockFactors(MoeModel);
PETSC_EXTERN PetscErrorCode MoeModelEvaluateBlock(MoeModel, const PetscReal *theta, PetscInt nb, const PetscReal *X, PetscReal *F, PetscReal *C);
PETSC_EXTERN PetscErrorCode MoeModelBlockGradient(MoeModel, PetscInt nb, const PetscReal *X, const PetscReal *C, const PetscReal *w, PetscReal *grad);
PETSC_EXTERN PetscErrorCode MoeModelBlockJacobian(MoeModel, PetscInt nb, const PetscReal *X, const PetscReal *C, PetscReal *row, PetscReal *J);
PETSC_EXTERN PetscErrorCode MoeModelFreeToFull(MoeModel, const PetscReal *xfree, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeModelFullToFree(MoeModel, const PetscReal *theta, PetscReal *xfree);
PETSC_EXTERN PetscErrorCode MoeModelPinParameters(MoeModel, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeModelLowerBounds(MoeModel, PetscReal *lower);
PETSC_EXTERN PetscErrorCode MoeModelDescribe(MoeModel, char *, size_t);
/* Family settings as options without prefix ("-topk_K 2"), "" when the family has none. */
PETSC_EXTERN PetscErrorCode MoeModelGatingOptions(MoeModel, char *, size_t);
/* The model type's settings as options (the contaminated MoE's base), "" when it has none. */
PETSC_EXTERN PetscErrorCode MoeModelBaseOptions(MoeModel, char *, size_t);
/* The part of atom i (a gating with parts, the shared experts: 0 shared, 1 routed), -1 when the gating has one part. */
PETSC_EXTERN PetscInt       MoeModelAtomPart(MoeModel, PetscInt i);
/* The expert family of atom i (its part's: -shared_expert), m->efamily for a model of one expert family. */
PETSC_EXTERN const MoeExpertFamily *MoeModelAtomExpertFamily(MoeModel, PetscInt i);
/* Atoms with a non-zero gate at some x (K for top-K gating, else k). */
PETSC_EXTERN PetscInt       MoeModelActiveAtoms(MoeModel);
/* Voronoi view of the atoms (src/model/embed.c): gating locations (nloc entries per atom), beta0, eta. */
PETSC_EXTERN PetscInt       MoeModelLocationSize(MoeModel);
PETSC_EXTERN PetscErrorCode MoeModelAtoms(MoeModel, const PetscReal *theta, PetscReal *loc, PetscReal *b0, PetscReal *eta);
/* theta of model m holding the atoms of tmodel's ttheta through the families' atom map (extra atoms
   split true atoms with the same total gate mass; globals from a target of the same gating family,
   else the family defaults). */
PETSC_EXTERN PetscErrorCode MoeModelEmbed(MoeModel m, MoeModel tmodel, const PetscReal *ttheta, PetscReal *theta);
/* Gating globals of a drawn truth (rng, variances) or their defaults (rng NULL). */
/* A gating with a discrete selection (top-K) and its soft version: the selection temperature. */
PETSC_EXTERN PetscErrorCode MoeModelGetSelectionTemperature(MoeModel, PetscBool *has, PetscReal *T);
PETSC_EXTERN PetscErrorCode MoeModelSetSelectionTemperature(MoeModel, PetscReal T);
PETSC_EXTERN PetscErrorCode MoeModelInitGlobals(MoeModel, void *rng, PetscReal var1, PetscReal var0, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeModelSameFamilies(MoeModel, MoeModel, PetscBool *);
PETSC_EXTERN PetscErrorCode MoeModelParameterName(MoeModel, PetscInt i, char *, size_t);
PETSC_EXTERN PetscErrorCode MoeModelDescribeDirection(MoeModel, const PetscReal *vfree, char *, size_t);
/* Fisher information J^T J / n of the free parameters at theta over n inputs X (src/model/fisher.c):
   its eigenvalues, ascending, and optionally the eigenvector of the smallest. */
PETSC_EXTERN PetscErrorCode MoeModelFisher(MoeModel, const PetscReal *theta, PetscInt n, const PetscReal *X, PetscReal *eig, PetscReal *vmin);
PETSC_EXTERN PetscReal      MoeFisherSd(PetscReal noise, PetscInt n, const PetscReal *eig, PetscInt p);

#endif
