/* The subcommands of the moerate executable and their shared checks. */
#ifndef MOECMD_H
#define MOECMD_H

#include <moedata.h>

PETSC_EXTERN PetscErrorCode MoeCommandFit(MPI_Comm, const char command[]);
PETSC_EXTERN PetscErrorCode MoeCommandRun(MPI_Comm, const char command[]);
PETSC_EXTERN PetscErrorCode MoeCheckOutputPath(const char option[], const char path[]);
PETSC_EXTERN PetscErrorCode MoeCheckOutputIsPlain(const char option[], const char path[]);
PETSC_EXTERN PetscErrorCode MoeCheckUnusedOptions(MPI_Comm);
PETSC_EXTERN PetscErrorCode MoeCheckTaoOptions(const MoeSpec *, MoeModel);
PETSC_EXTERN PetscErrorCode MoeRootCheck(MPI_Comm, PetscErrorCode (*)(void *), void *);
PETSC_EXTERN PetscErrorCode MoePrintFisherLine(MPI_Comm, const MoeSpec *, const MoeTruth *);

#endif
