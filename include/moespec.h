/*
   The experiment spec: everything that defines an experiment, read from the PETSc
   options database (a YAML file through -options_file_yaml, overridden on the command
   line), validated before any work starts, and hashed so that a results file can be
   tied to the spec that produced it.  `moerate fit` uses the same spec with a single
   gating, expert, n and replicate.
*/
#ifndef MOESPEC_H
#define MOESPEC_H

#include <moelosstype.h>

#define MOE_NAME_LEN 64
#define MOE_MAX_LIST 64

typedef enum {
  MOE_X_UNIFORM,
  MOE_X_GAUSSIAN
} MoeInputDist;
PETSC_EXTERN const char *const MoeInputDists[];

/* How a replicate's random streams are cut (-data_streams): blocks, one generator per chunk of rows
   keyed by (seed, stream, n, replicate, chunk), so any rank can draw any chunk at once; rows, one
   generator per sample whose earlier draws a rank of a group skips (the committed results before
   format 6).  The two agree on a sample's first chunk. */
typedef enum {
  MOE_STREAMS_BLOCKS,
  MOE_STREAMS_ROWS
} MoeDataStreams;
PETSC_EXTERN const char *const MoeDataStreamsNames[];

/* In what order a least-squares or likelihood fit sums over its sample (-fit_order): chunks, each
   chunk's sum (the chunks of MoeDataChunks) added pairwise in a shape fixed by their number, as a
   group of ranks adds them, so one rank and any group give the same bits; rows, one pass in row
   order (the committed results made before chunks became the default; needed by -fit_hessian_rows
   and -fit_rows, which take rows in row order). */
typedef enum {
  MOE_FIT_ORDER_CHUNKS,
  MOE_FIT_ORDER_ROWS
} MoeFitOrder;
PETSC_EXTERN const char *const MoeFitOrders[];

typedef enum {
  MOE_INIT_NEAR,
  MOE_INIT_RANDOM
} MoeInitType;
PETSC_EXTERN const char *const MoeInitTypes[];

/* What a truth file holds (read by src/store/truth.c before the spec): one truth per /truth group
   of an HDF5 file, or the one truth of a YAML file.  Its options hold lists as long as d (the
   contaminated MoE's base slopes, up to 25 characters a value): room for the largest d a truth
   file may declare. */
#define MOE_MAX_TRUTH_D        1024 /* covariate dimension a truth file may declare */
#define MOE_TRUTH_OPTIONS_LEN (1024 + 26 * MOE_MAX_TRUTH_D)
/* -fit_group auto: `moerate run` gives the tasks above half the schedule's fair share groups of ranks
   (src/grid/schedule.c, MoeScheduleGroupLayout); the others one rank, all summed in the chunks' order. */
#define MOE_FIT_GROUP_AUTO (-1)

typedef struct {
  const MoeGatingFamily *gating;
  const MoeExpertFamily *expert;
  MoeModelType           model;
  PetscInt               kstar, d, p;
  char                   options[MOE_TRUTH_OPTIONS_LEN]; /* gating family and model options, e.g. "-topk_K 2" */
  PetscReal             *theta;         /* p values, full layout */
  PetscReal             *drift;         /* a truth that moves with n: theta*(n) = theta + n^-drift_rate drift (p values), or NULL */
  PetscReal              drift_rate;
} MoeTruthRecord;

typedef struct {
  char           path[PETSC_MAX_PATH_LEN];
  PetscInt       n;
  MoeTruthRecord truths[MOE_MAX_LIST];
} MoeTruthFile;

PETSC_EXTERN PetscErrorCode MoeTruthFileDestroy(MoeTruthFile **);

typedef struct _n_MoeEstimatorFamily MoeEstimatorFamily; /* moeestimator.h */
typedef struct _p_MoeEstimator      *MoeEstimator;

typedef struct {
  /* fitted families */
  PetscInt ngatings, nexperts;
  char     gatings[MOE_MAX_LIST][MOE_NAME_LEN];
  char     experts[MOE_MAX_LIST][MOE_NAME_LEN];
  const MoeGatingFamily *gating_families[MOE_MAX_LIST];
  const MoeExpertFamily *expert_families[MOE_MAX_LIST];
  PetscInt k, d;
  MoeModelType model; /* regression or gaussian (moemodel.h) */

  /* the truth: drawn from P1's distributions, or read from a file */
  char      truth_gating[MOE_NAME_LEN];
  char      truth_expert[MOE_NAME_LEN]; /* "" : the expert family of each fit */
  char      truth_file[PETSC_MAX_PATH_LEN];
  MoeTruthFile          *truthfile;           /* its contents (owned by the spec) */
  const MoeGatingFamily *truth_gating_family;
  const MoeExpertFamily *truth_expert_family; /* NULL: the expert family of each fit */
  PetscInt  kstar;
  PetscInt  truth_regime;     /* 1: beta1* = 0; 2: beta1* ~ N(0, beta1_var I) */
  PetscInt  truth_beta1_zero; /* regime 2: this many atoms keep beta1* = 0 */
  PetscReal truth_beta0_var, truth_beta1_var, truth_expert_var;
  PetscReal truth_sigma;      /* Gaussian MoE: every drawn true expert's sigma */
  PetscInt  truth_seed;
  PetscInt  truth_draw;       /* -truth_draw, or -1: chosen by MoeTruthSelect */
  PetscInt  truth_draws[MOE_MAX_LIST];    /* per expert family (index of -expert): its truth's draw */
  PetscInt  truth_rejected[MOE_MAX_LIST]; /* draws the screening rejected before it */
  PetscBool truth_seed_set, truth_draw_set;
  /* screening of the truth (src/data/screen.c) */
  PetscReal truth_max_sd;     /* largest sd along the truth's weakest direction at the smallest n */
  PetscReal truth_active_min; /* hinge experts: least fraction of inputs active (and inactive) */
  PetscInt  truth_max_draws;
  PetscBool allow_ill_posed;

  /* data */
  MoeInputDist   xdist;
  PetscReal      xlo, xhi, xsd;
  PetscReal      noise; /* variance nu of the Gaussian noise */
  MoeDataStreams streams;
  PetscInt       seed;
  PetscInt       nn;
  PetscInt       ns[MOE_MAX_LIST];
  PetscInt       replicates;

  /* initial points */
  MoeInitType init;
  PetscReal   init_perturb, init_scale;
  PetscInt    init_starts;

  /* losses */
  PetscInt  nlosses;
  char      losses[MOE_MAX_LIST][MOE_NAME_LEN];
  PetscReal loss_r;      /* exponent r of D2,r */
  PetscInt  eval_n;      /* Monte-Carlo sample for the L2 regression error */
  PetscInt  reference_n; /* noise-free sample for the reference fit G-bar */

  /* fit */
  PetscInt  block;       /* rows per block of the Gauss-Newton assembly */
  PetscInt  hessian_rows; /* rows the Gauss-Newton Hessian is formed from (0: all n) */
  PetscBool rows;        /* evaluate the model a row at a time, not in blocks through BLAS */
  PetscInt  hessian_reuse; /* form the Gauss-Newton Hessian at most once per this many iterations */
  PetscBool hessian_single; /* the Gauss-Newton Hessian in single precision */
  PetscInt  fit_group; /* ranks per fit (-fit_group g >= 1, sums in the chunks' order; MOE_FIT_GROUP_AUTO: sizes by the tasks' costs); 0: one rank per fit */
  MoeFitOrder fit_order; /* how the fit sums over its sample (chunks whenever fit_group is set) */
  MPI_Comm  group;     /* this rank's group (set by the command that forms it), MPI_COMM_NULL: none */
  PetscReal lm_lambda, lm_down, lm_up;
  PetscReal ftol;        /* stop when f decreased by < ftol*f over ftol_window iterations */
  PetscInt  ftol_window;
  PetscReal max_norm;    /* a fit whose |theta|_inf exceeds this failed (diverged) */
  PetscReal max_gradient_z; /* a fit stopped by ftol with a larger gradient z-score stalled */

  /* estimators (moeestimator.h): fitted to the same data, each with the options it read itself */
  PetscInt     nestimators;
  char         estimators[MOE_MAX_LIST][MOE_NAME_LEN];
  MoeEstimator estimator[MOE_MAX_LIST];

  /* certification (src/certify): gap 2n/nu (f_fit - f_ref) at most certify_tol */
  PetscReal certify_tol;
  PetscInt  certify_starts; /* most starts a fit may take to be certified */

  /* the stability diagnostic (run): replicates 0..stability_replicates-1 of every (pair, theory
     estimator, n) are refitted from stability_starts further families of starts */
  PetscInt stability_replicates, stability_starts;

  char output[PETSC_MAX_PATH_LEN];

  PetscOptions opts;  /* where the spec and the family options were read */
  char        *text;  /* canonical text of the spec (sorted "-name value" lines) */
  char         hash[17];
} MoeSpec;

/* tf: the contents of -truth_file, read before (src/store/truth.c), or NULL; the spec takes it. */
/* The pieces of the spec each room reads: generate (samples, initial points) and fit take these
   small structs, not the whole spec. */
typedef struct {
  PetscInt     d;
  MoeInputDist xdist;
  PetscReal    xlo, xhi, xsd;
  PetscReal    noise;
  PetscInt     seed;
  PetscInt     eval_n, reference_n;
  MPI_Comm     group; /* the ranks that share each replicate's rows (-fit_group), MPI_COMM_NULL: one rank holds them all */
  MoeDataStreams streams;
  PetscBool    chunked; /* a replicate's fit sums over its chunks (-fit_order chunks; always in a group) */
} MoeDataParams;

typedef struct {
  MoeInitType init;
  PetscReal   perturb, scale;
  PetscInt    starts; /* -init_starts */
  PetscInt    seed;
  PetscInt    first; /* index of start 0 in the start stream (a restart's starts: restart * -certify_starts) */
} MoeInitParams;

typedef struct {
  PetscInt  block;
  PetscReal lm_lambda, lm_down, lm_up;
  PetscReal ftol; /* -1: 0.01/n */
  PetscInt  ftol_window;
  PetscReal max_norm, max_gradient_z;
  PetscReal noise;
  PetscInt  hessian_rows; /* Gauss-Newton Hessian from the first hessian_rows rows (0: all) */
  PetscBool rows;         /* a row at a time even where MoeModelHasBlocks (to compare) */
  PetscInt  hessian_reuse; /* one Gauss-Newton Hessian for up to this many iterations (1: a fresh one each) */
  PetscBool hessian_single; /* the Gauss-Newton Hessian in single precision (ssyrk) */
  const char *tao_prefix;   /* least squares: options prefix of the TAO solver (NULL: -tao_...) */
  PetscInt  em_max_it;      /* EM: iterations at most (per annealing stage); set by the em estimator */
  PetscBool hard_only;      /* mle: fit a top-K selection as it is, without annealing (-mle_anneal false); set by the mle estimator */
  PetscReal decrease_units;  /* mle: stop when 2n times the likelihood's gain over decrease_window iterations is below this (0: off); */
  PetscInt  decrease_window; /* set by the mle estimator (-mle_ftol, -mle_ftol_window) */
} MoeFitParams;

/* What a Fisher check needs: the grid's smallest and largest n, the noise variance and the largest sd
   allowed along the weakest direction (-truth_max_sd), and the hinge activity bounds. */
typedef struct {
  PetscInt  nmin, nmax;
  PetscReal noise, max_sd, active_min;
} MoeScreenParams;

PETSC_EXTERN void MoeSpecDataParams(const MoeSpec *, MoeDataParams *);
PETSC_EXTERN void MoeSpecScreenParams(const MoeSpec *, MoeScreenParams *);
PETSC_EXTERN void MoeSpecInitParams(const MoeSpec *, MoeInitParams *);
PETSC_EXTERN void MoeSpecFitParams(const MoeSpec *, MoeFitParams *);

PETSC_EXTERN PetscErrorCode MoeSpecCreate(MPI_Comm, PetscOptions, PetscBool run, MoeTruthFile *tf, MoeSpec **);
PETSC_EXTERN PetscErrorCode MoeSpecDestroy(MoeSpec **);
/* Pairs are (gating index g, expert index e) into -gating and -expert; l indexes -losses. */
PETSC_EXTERN PetscInt       MoeSpecTruthIndex(const MoeSpec *, PetscInt e);
PETSC_EXTERN PetscBool      MoeSpecLossApplies(const MoeSpec *, PetscInt l, PetscInt g);
PETSC_EXTERN PetscErrorCode MoeSpecLossTargetIsTruth(const MoeSpec *, PetscInt l, PetscInt g, PetscInt e, PetscBool *);
PETSC_EXTERN PetscErrorCode MoeSpecNeedsReference(const MoeSpec *, PetscInt g, PetscInt e, PetscBool *);
PETSC_EXTERN PetscErrorCode MoeSpecPairLosses(const MoeSpec *, PetscInt g, PetscInt e, MoeLossSet *);

#endif
