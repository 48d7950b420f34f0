/*
   Estimators: how a replicate's parameters are estimated from its data, registered as families
   like the gatings and experts.  An estimator is one file, src/estimator/impls/<name>.c, which
   declares its traits (a MoeEstimatorFamily: the model type it estimates, whether it is the
   estimator the theory is about, its options, its TAO options prefix) and creates its object:
   it reads its own options, and supplies its solver (how to fit from one start, and the objective
   its certificate compares), its cost, its canonical-text lines and, when the certified
   multi-start fit of src/certify does not suit it, its own fit.  src/estimator/register.c lists
   the files.  A spec names the estimators to run on the same data (-estimator lse,sgd); every
   record says which estimator made it, and the analysis groups by estimator.

     lse   the least-squares estimator the theory is about, computed by TAO (moerate's trust region)
           and certified against the truth's (or G-bar's) objective on the same data
     brgn  the same estimator computed by TAO's own Gauss-Newton (TAOBRGN, options -brgn_tao_...)
     mle   maximum likelihood for the likelihood models (-model gaussian, contaminated), TAO on the analytic score,
           certified against the truth's likelihood on the same data
     em    the same maximum-likelihood estimator computed by EM, certified as mle
     sgd   P1's minibatch SGD on the least-squares objective from the near start, as P1 fitted
           its Figure 1; its certificate is recorded, never repaired

   The registry and the objects (create, cost, canonical text) may be used by every room; fitting
   (MoeEstimatorFit) is the estimator step, after certify in the flow.
*/
#ifndef MOEESTIMATOR_H
#define MOEESTIMATOR_H

#include <moecertify.h>

struct _n_MoeEstimatorFamily {
  const char *name;
  /* Set the object's ops and solver and read the estimator's options (one-line errors for bad ones). */
  PetscErrorCode (*create)(MoeEstimator);
  PetscBool    theory;               /* the estimator the theory is about: only its certified fits are evidence */
  PetscBool    certificate_suffices; /* a certified fit is the estimator whatever its solver's stop (MoeSolver) */
  unsigned     models;               /* the model types it estimates: MOE_MODEL_MASK(type) | ... */
  const char  *objective;            /* what it optimises */
  const char  *tao_prefix;           /* options prefix of its own TAO solvers (NULL: the global -tao_ ones) */
  const MoeFamilyOption *options;    /* its options, for -help */
  const char  *meaning;
  PetscBool    groups;               /* can fit a replicate spread over a group of ranks (-fit_group): its sums go through MoeDataGroupSum */
};

#define MOE_MODEL_MASK(type) (1u << (type))
/* Does the family estimate models of this type? */
PETSC_EXTERN PetscBool      MoeEstimatorEstimates(const MoeEstimatorFamily *, MoeModelType);
PETSC_EXTERN PetscErrorCode MoeEstimatorRegister(const MoeEstimatorFamily *);
PETSC_EXTERN PetscErrorCode MoeEstimatorRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeEstimatorFamilyFind(const char[], const MoeEstimatorFamily **);
PETSC_EXTERN PetscErrorCode MoeEstimatorFamilies(PetscInt *, const MoeEstimatorFamily *const **);
PETSC_EXTERN PetscErrorCode MoeEstimatorTypesString(char *, size_t);
PETSC_EXTERN PetscErrorCode MoeEstimatorOptionsDeclare(MPI_Comm);
/* The TAO options prefixes of every registered estimator, NULL-terminated (option checks, canonical text). */
PETSC_EXTERN PetscErrorCode MoeEstimatorTaoPrefixes(const char *const **);

/* The estimator `name` (a registered one) with its options read from opts. */
PETSC_EXTERN PetscErrorCode MoeEstimatorCreate(const char name[], PetscOptions opts, MoeEstimator *);
PETSC_EXTERN PetscErrorCode MoeEstimatorDestroy(MoeEstimator *);
PETSC_EXTERN const MoeEstimatorFamily *MoeEstimatorGetFamily(MoeEstimator);
/* Relative cost of one replicate (for the largest-first schedule). */
PETSC_EXTERN PetscReal      MoeEstimatorCost(MoeEstimator, const MoeSpec *, PetscInt64 n, PetscInt pfree);
/* Its settings as canonical spec lines ("-sgd_epochs 10\n..."; "" when it has none), appended to buf. */
PETSC_EXTERN PetscErrorCode MoeEstimatorView(MoeEstimator, char *buf, size_t len);
/* A setting of the estimator that changes nothing on model m (option; applies: what it acts on), or NULLs. */
PETSC_EXTERN PetscErrorCode MoeEstimatorInertSetting(MoeEstimator, MoeModel m, const char **option, const char **applies);

/* Estimate from D (data of replicate (n, replicate)) from the starts of family `restart` (0: the
   replicate's own fit; j > 0: the j-th restart of the stability diagnostic, other starts of the
   same data): theta0 receives the start kept, theta the estimate, res and cert the fit's result and
   certificate. */
PETSC_EXTERN PetscErrorCode MoeEstimatorFit(MoeEstimator, const MoeSpec *, MoeModel, const MoeTruth *, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *, MoeCertificate *);

#endif
