/*
   Internals of the spec room (as PETSc keeps include/petsc/private/): one file per section of the
   options (src/spec/models.c, truth.c, data.c, losses.c, fit.c), the checks once all are read
   (validate.c), the canonical text (canonical.c) and the shared name handling (names.c); spec.c
   reads them in order.  Everything else uses moespec.h.
*/
#ifndef MOE_PRIVATE_SPECIMPL_H
#define MOE_PRIVATE_SPECIMPL_H

#include <moespec.h>
#include <moelosstype.h>
#include <moeestimator.h>

/* What one section learns that a later one needs: which options were given, and the names of
   enumerations resolved by the checks. */
typedef struct {
  PetscBool kset, kstarset, dset, tgset;
  char      dist[32], init[32], model[32], streams[32];
} MoeSpecReadFlags;

/* names.c */
PETSC_EXTERN PetscErrorCode MoeSpecReadNameList(PetscOptionItems *, const char opt[], const char help[], char list[][MOE_NAME_LEN], PetscInt *n, const char deflt[], PetscBool *set);
PETSC_EXTERN PetscErrorCode MoeSpecResolveGatings(const char opt[], const char list[][MOE_NAME_LEN], PetscInt n, const MoeGatingFamily **);
PETSC_EXTERN PetscErrorCode MoeSpecResolveExperts(const char opt[], const char list[][MOE_NAME_LEN], PetscInt n, const MoeExpertFamily **);

/* the sections, in the order they are read */
PETSC_EXTERN PetscErrorCode MoeSpecReadModels(MPI_Comm, MoeSpec *, PetscBool run, MoeSpecReadFlags *);
PETSC_EXTERN PetscErrorCode MoeSpecReadTruth(MPI_Comm, MoeSpec *, MoeTruthFile *, MoeSpecReadFlags *);
PETSC_EXTERN PetscErrorCode MoeSpecReadData(MPI_Comm, MoeSpec *, PetscBool run, MoeSpecReadFlags *);
PETSC_EXTERN PetscErrorCode MoeSpecReadInit(MPI_Comm, MoeSpec *, MoeSpecReadFlags *);
PETSC_EXTERN PetscErrorCode MoeSpecReadLosses(MPI_Comm, MoeSpec *);
PETSC_EXTERN PetscErrorCode MoeSpecReadFit(MPI_Comm, MoeSpec *, PetscBool run);
PETSC_EXTERN PetscErrorCode MoeSpecCheckModelType(MoeSpec *);
PETSC_EXTERN PetscErrorCode MoeSpecValidate(MoeSpec *, PetscBool run, MoeSpecReadFlags *);
PETSC_EXTERN PetscErrorCode MoeSpecBuildCanonicalText(MoeSpec *);
/* losses.c: does pair (gating g, expert e) have the truth's families? */
PETSC_EXTERN PetscBool      MoeSpecPairMatchesTruth(const MoeSpec *, PetscInt g, PetscInt e);

#endif
