/*
   Internals of the estimators (as PETSc keeps include/petsc/private/): included by the estimator
   files (src/estimator/, src/estimator/impls/), which offer everything else through moeestimator.h.
*/
#ifndef MOE_PRIVATE_ESTIMATORIMPL_H
#define MOE_PRIVATE_ESTIMATORIMPL_H

#include <moeestimator.h>

typedef struct {
  /* The fit of one replicate; NULL: the certified multi-start fit with the estimator's solver. */
  PetscErrorCode (*fit)(MoeEstimator, const MoeSpec *, MoeModel, const MoeTruth *, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *, MoeCertificate *);
  /* Relative cost of one replicate's fit. */
  PetscReal (*cost)(MoeEstimator, const MoeSpec *, PetscInt64 n, PetscInt pfree);
  /* Its settings as canonical spec lines; NULL: none. */
  PetscErrorCode (*view)(MoeEstimator, char *, size_t);
  /* A setting of the estimator that changes nothing on model m: *option names it, *applies says where
     it would (both NULL when every setting acts); NULL: it has none such. */
  PetscErrorCode (*inert)(MoeEstimator, MoeModel, const char **option, const char **applies);
  PetscErrorCode (*destroy)(MoeEstimator);
} MoeEstimatorOps;

struct _p_MoeEstimator {
  MoeEstimatorOps           ops;
  const MoeEstimatorFamily *family;
  MoeSolver                 solver; /* how it fits from one start, and the objective it certifies on */
  PetscOptions              opts;   /* where it read its options */
  void                     *data;   /* its settings: freed by MoeEstimatorDestroy after ops.destroy */
};

/* The least-squares fit's settings of the spec, with the estimator's TAO prefix. */
PETSC_EXTERN void MoeEstimatorFitParams(MoeEstimator, const MoeSpec *, MoeFitParams *);

#endif
