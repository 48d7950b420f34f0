/*
   Task: the pipeline of one task, wired once and used by `moerate fit` and by every rank of
   `moerate run`:

     replicate  the truth of size n -> data (n, replicate) -> the estimator (lse: near starts -> fit -> certify, more
                starts; sgd: near start -> SGD -> certificate) -> losses
     reference  noise-free reference sample -> near start -> fit -> is G-bar identified?

   The truth, its evaluation sample, the fitted model and G-bar are made once per rank and
   passed in; everything a task computes follows from the spec and the task's (n, replicate).
*/
#ifndef MOETASK_H
#define MOETASK_H

#include <moecertify.h>
#include <moeloss.h>
#include <moeestimator.h>

/* What a replicate's pipeline produces; theta0, theta (p) and losses (the pair's losses) are the
   caller's arrays. */
typedef struct {
  PetscReal     *theta0, *theta, *losses;
  MoeFitResult   fit;
  MoeCertificate cert;
  MoeData       *data; /* the replicate's sample, when asked to keep it (else NULL) */
  PetscReal      truth_shift; /* n^-drift_rate for a truth that moves with n (its truth: theta* + shift drift), else 0 */
} MoeReplicateResult;

/* What a reference task produces; theta (p) is the caller's array. */
typedef struct {
  PetscReal   *theta;
  MoeFitResult fit;
  PetscBool    identified;
  PetscReal    weak_sd; /* sd along G-bar's weakest Fisher direction at the smallest n */
  char         why[512];
} MoeReferenceResult;

/* The fits of pair (g, e) of the spec: model m, truth, G-bar (NULL when the pair needs none or it
   is not known yet) and the truth's evaluation sample. */
typedef struct {
  const MoeSpec   *spec;
  PetscInt         g, e, estimator; /* the estimator's index in -estimator */
  MoeModel         model;
  const MoeTruth  *truth;
  const PetscReal *gbar;
  const MoeData   *eval;
} MoePairContext;

PETSC_EXTERN PetscErrorCode MoeTaskReplicate(const MoePairContext *, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscBool keep_data, MoeReplicateResult *);
PETSC_EXTERN PetscErrorCode MoeTaskReference(const MoePairContext *, MoeReferenceResult *);

#endif
