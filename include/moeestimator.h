/*
   Estimators: how a replicate's parameters are estimated from its data, registered as families
   like the gatings and experts.  A family's file defines its traits (a MoeEstimatorFamily) and
   src/estimator/register.c lists it; a spec names the estimators to run on the same data
   (-estimator lse,sgd), every record says which estimator made it, and the analysis groups by
   estimator.

     lse  the least-squares estimator the theory is about, computed by TAO and certified
          against the truth's (or G-bar's) objective on the same data (src/certify/certify.c)
     mle  maximum likelihood for the Gaussian MoE (-model gaussian), TAO on the analytic score,
          certified against the truth's likelihood on the same data (src/fit/mle.c)
     em   the same maximum-likelihood estimator computed by EM (src/fit/em.c), certified as mle
     sgd  P1's minibatch SGD on the least-squares objective from the near start, as P1 fitted
          its Figure 1 (src/certify/sgd.c); its certificate is recorded, never repaired
*/
#ifndef MOEESTIMATOR_H
#define MOEESTIMATOR_H

#include <moecertify.h>

struct _n_MoeEstimatorFamily {
  const char *name;
  /* Estimate from D (data of replicate (n, replicate)) from the starts of family `restart` (0: the
     replicate's own fit; j > 0: the j-th restart of the stability diagnostic, other starts of the
     same data): theta0 receives the start kept, theta the estimate, res and cert the fit's result
     and certificate. */
  PetscErrorCode (*fit)(const MoeSpec *, MoeModel, const MoeTruth *, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *, MoeCertificate *);
  /* Relative cost of one replicate (for the largest-first schedule). */
  PetscReal (*cost)(const MoeSpec *, PetscInt64 n, PetscInt pfree);
  PetscBool   theory;    /* the estimator the theory is about: only its certified fits are evidence */
  /* A certified fit is the estimator even when its solver stopped short of a stationary point (an
     iteration cap, a failed line search): the likelihood theory's rates hold for any estimate whose
     likelihood is at least the truth's, and where the supremum lies at infinity (an over-specified
     top-K model of a sparser truth) no solver converges. */
  PetscBool   certificate_suffices;
  MoeModelType model;    /* the model type it estimates */
  const char *objective; /* what it optimises */
  const MoeFamilyOption *options;
  const char *meaning;
};

PETSC_EXTERN PetscErrorCode MoeEstimatorRegister(const MoeEstimatorFamily *);
PETSC_EXTERN PetscErrorCode MoeEstimatorRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeEstimatorFamilyFind(const char[], const MoeEstimatorFamily **);
PETSC_EXTERN PetscErrorCode MoeEstimatorTypesString(char *, size_t);
PETSC_EXTERN PetscErrorCode MoeEstimatorOptionsDeclare(MPI_Comm);

#endif
