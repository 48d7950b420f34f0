/*
   moerate: empirical convergence rates of mixture-of-experts estimators.

   Umbrella header.  The source is laid out along the data flow; each step is a room (a
   directory under src/ and a header), and a room calls only the rooms before it:

     moespec.h     src/spec/      spec (options database, YAML) and the small parameter structs
     moerun.h      src/run/       task grid (grid.c) and schedule (schedule.c)
     moedata.h     src/data/      generate: truth (drawn and screened), data, initial points
     moefit.h      src/fit/       fit: TAO least squares on PETSC_COMM_SELF
     moecertify.h  src/certify/   certify: the multi-start loop of a solver, the gap to the reference point
     moeestimator.h src/estimator/ estimator: each estimator's file (solver, options, own fit)
     moeloss.h     src/loss/      losses: Voronoi losses, per-cell errors, L2 regression error
     moestore.h    src/store/     store: every file format (results, replicate and truth files)

   Shared by every room: moerate.h and moeregistry.h (src/util/: errors, exit status, clock, streams,
   the registries' tables) and the family registries (moemodel.h, moelosstype.h, the registry half of
   moeestimator.h: src/gating/, src/expert/, src/model/, src/loss/registry.c,
   src/estimator/registry.c), whose internals are private (include/moe/private/).  The drivers wire
   the rooms: moetask.h (src/task/: one task's pipeline, for `moerate fit` and every rank of
   `moerate run`), the master and workers of src/run/, and the commands of src/cmd/.
   tests/python/test_layout.py checks the direction of every call.
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

/* A file could not be written (a full or failing disk, an fsync refused): raised with this
   code, main() prints the message as one line too, without a traceback, and exits with
   MOE_EXIT_FAILURE (a multi-rank job is ended, never left hanging).  The message names the
   file, the system's reason and what to do. */
#define MOE_ERR_IO PETSC_ERR_FILE_WRITE

/* Process exit statuses, documented in the README. */
#define MOE_EXIT_OK       0  /* finished: every task done */
#define MOE_EXIT_FAILURE  1  /* internal error (PETSc traceback printed), or a file could not be written (one line) */
#define MOE_EXIT_USAGE    2  /* bad input: one line names the option and the fix */
#define MOE_EXIT_STOPPED  3  /* stopped by SIGTERM/SIGUSR1; rerun the same command to resume */

/* The longest one-line message: PETSc keeps only the first 1023 characters of an error's
   message, which a long path or two would fill before the reason, so moerate keeps the whole
   line itself (MoeErrorText). */
#define MOE_MESSAGE_LEN 16384

PETSC_EXTERN PetscErrorCode MoeRaise(int, const char *, const char *, PetscErrorCode, const char *, ...) PETSC_ATTRIBUTE_FORMAT(5, 6);
PETSC_EXTERN const char    *MoeErrorText(PetscErrorCode);

/* Raise a user-input error: one line, naming the option and the fix. */
#define MoeUserError(...) return MoeRaise(__LINE__, PETSC_FUNCTION_NAME, __FILE__, MOE_ERR_USER, __VA_ARGS__)
#define MoeUserCheck(cond, ...) \
  do { \
    if (PetscUnlikely(!(cond))) MoeUserError(__VA_ARGS__); \
  } while (0)

/* Raise a failure to write a file (MOE_ERR_IO): one line, naming the file and the fix. */
#define MoeIOError(...) return MoeRaise(__LINE__, PETSC_FUNCTION_NAME, __FILE__, MOE_ERR_IO, __VA_ARGS__)

PETSC_EXTERN PetscErrorCode MoePushErrorHandler(void);
PETSC_EXTERN PetscErrorCode MoeErrorReport(MPI_Comm, PetscErrorCode, int *);
PETSC_EXTERN PetscErrorCode MoeGitRevision(const char **);
PETSC_EXTERN uint64_t       MoeHash64(const void *, size_t);

/* The exit status a command chose (MOE_EXIT_OK unless set, e.g. MOE_EXIT_STOPPED). */
PETSC_EXTERN void MoeSetExitStatus(int);
PETSC_EXTERN int  MoeExitStatus(void);

/* The random streams of an experiment (src/util/stream.c). */
typedef enum {
  MOE_STREAM_TRUTH     = 1,
  MOE_STREAM_X         = 2,
  MOE_STREAM_NOISE     = 3,
  MOE_STREAM_INIT      = 4,
  MOE_STREAM_EVAL      = 5,
  MOE_STREAM_REFERENCE = 6,
  MOE_STREAM_SGD       = 7 /* minibatch order of SGD: index = epoch */
} MoeStream;
PETSC_EXTERN uint64_t MoeStreamSeed(PetscInt64 seed, MoeStream, PetscInt64 n, PetscInt64 replicate, PetscInt64 index);

/* OpenBLAS kernel selection (src/util/blas.c). */
PETSC_EXTERN void        MoeBlasSelectKernels(char **argv);
PETSC_EXTERN const char *MoeBlasDescription(void);

/* Time since an arbitrary origin, in seconds, for the task wall times. */
PETSC_EXTERN PetscLogDouble MoeWallTime(void);

#endif
