/*
   moerate: empirical convergence rates of mixture-of-experts estimators.

   Umbrella header.  The data flow of the program is visible in the headers:

     moespec.h   spec (options database)  ->  task grid
     moerun.h    schedule (master/worker over MPI)
     moedata.h   generate (truth, data, initial points)
     moefit.h    fit (TAO least squares on PETSC_COMM_SELF)
     moeloss.h   losses (Voronoi losses, L2 regression error)
     moestore.h  store (HDF5)
*/
#ifndef MOERATE_H
#define MOERATE_H

#include <petscsys.h>
#include <math.h>

#define MOERATE_VERSION "0.1.0"

/* A quiet NaN: "no value" in losses and records. */
#define MOE_NAN ((PetscReal)NAN)

/* Errors caused by the user's input (options, spec, files) are raised with this code.
   main() prints them as a single line, without PETSc's traceback, and exits with
   MOE_EXIT_USAGE. */
#define MOE_ERR_USER PETSC_ERR_USER_INPUT

/* Process exit statuses, documented in the README. */
#define MOE_EXIT_OK       0  /* finished: every task done */
#define MOE_EXIT_FAILURE  1  /* internal error (PETSc traceback printed) */
#define MOE_EXIT_USAGE    2  /* bad input: one line names the option and the fix */
#define MOE_EXIT_STOPPED  3  /* stopped by SIGTERM/SIGUSR1; rerun the same command to resume */

/* Raise a user-input error: one line, naming the option and the fix. */
#define MoeUserError(...) SETERRQ(PETSC_COMM_SELF, MOE_ERR_USER, __VA_ARGS__)
#define MoeUserCheck(cond, ...) \
  do { \
    if (PetscUnlikely(!(cond))) MoeUserError(__VA_ARGS__); \
  } while (0)

PETSC_EXTERN PetscErrorCode MoePushErrorHandler(void);
PETSC_EXTERN PetscErrorCode MoeErrorReport(MPI_Comm, PetscErrorCode, int *);
PETSC_EXTERN PetscErrorCode MoeGitRevision(const char **);

/* The exit status a command chose (MOE_EXIT_OK unless set, e.g. MOE_EXIT_STOPPED). */
PETSC_EXTERN void MoeSetExitStatus(int);
PETSC_EXTERN int  MoeExitStatus(void);

/* OpenBLAS kernel selection (src/util/blas.c). */
PETSC_EXTERN void        MoeBlasSelectKernels(char **argv);
PETSC_EXTERN const char *MoeBlasDescription(void);

/* Time since an arbitrary origin, in seconds, for the task wall times. */
PETSC_EXTERN PetscLogDouble MoeWallTime(void);

#endif
