/*
   Run: `moerate run` executes every task of an experiment grid (src/run/).

   The task grid and the records: moegrid.h.

   Ranks.  Rank 0 is the master: it hands out task ids dynamically, largest expected cost
   first (a replicate task waits for its pair's reference), keeps every result in memory,
   and alone writes the results file.  Ranks 1.. are workers: they fit on PETSC_COMM_SELF
   and send back fixed-size records.  With one rank, that rank does all the work.

   Results file.  Funnelled to the master, which writes a complete HDF5 file (parallel
   HDF5 build, opened by the master alone, so no collective HDF5 call exists) to a
   temporary name and renames it over the results file: the file on disk is always a
   whole, closed HDF5 file.  A whole write is made only as often as writing stays within
   1% of the run; the flushes in between append the new results to PATH.journal, which
   the next run merges.  A killed run loses at most the tasks finished since the last
   flush.  Layout: docs/FORMAT.md.
*/
#ifndef MOERUN_H
#define MOERUN_H

#include <moegrid.h>
#include <moestore.h>

PETSC_EXTERN PetscErrorCode MoeResultsCreate(const MoeGrid *, MoeTruth **truths, MoeResults **);
PETSC_EXTERN PetscErrorCode MoeResultsDestroy(MoeResults **);

/* One task on this rank (workers, and the single-rank run). */
typedef struct _p_MoeExecutor *MoeExecutor;
PETSC_EXTERN PetscErrorCode MoeExecutorCreate(const MoeGrid *, MoeExecutor *);
PETSC_EXTERN PetscErrorCode MoeExecutorDestroy(MoeExecutor *);
PETSC_EXTERN PetscErrorCode MoeExecutorSetReference(MoeExecutor, PetscInt pair, const PetscReal *theta);
/* The G-bar of a pair this executor holds, NULL when it has none. */
PETSC_EXTERN const PetscReal *MoeExecutorGetReference(MoeExecutor, PetscInt pair);
/* The ranks that run each task together (-fit_group; MPI_COMM_NULL: this rank alone). */
PETSC_EXTERN PetscErrorCode MoeExecutorSetGroup(MoeExecutor, MPI_Comm);
PETSC_EXTERN PetscErrorCode MoeExecutorRun(MoeExecutor, PetscInt64 id, PetscMPIInt rank, MoeRecord *, PetscReal *losses, PetscReal *theta);

/* Run controls (not part of the spec). */
typedef struct {
  char       output[PETSC_MAX_PATH_LEN];
  PetscBool  force, retry_failed, quiet, verbose, skip_fit;
  PetscReal  flush_interval, progress_interval;
  PetscReal  test_flush_delay; /* testing: seconds between writing the file and renaming it */
  PetscBool  test_flush_append; /* testing: every flush but the last appends to the journal */
  PetscReal  test_task_delay;  /* testing: seconds each task waits before it starts */
  PetscReal  stop_grace;       /* seconds the master waits for busy workers after a stop request */
  PetscInt64 test_hang_task;   /* testing: the worker running this task ignores stop requests */
  PetscInt64 inject_nan_task, inject_error_task;
  PetscInt   depth; /* tasks queued per worker */
  PetscReal  yield; /* -fit_group_yield: a fit on a smaller group longer than yield x its size's time for half the fair share goes to the largest group; 0: never */
  PetscInt   ngroups;    /* the workers: groups of ranks after the master, in rank order */
  PetscInt  *group_size; /* their sizes (1 each without -fit_group); freed by the command */
} MoeRunOptions;

/* Stop requests: SIGTERM or SIGUSR1 set this flag (see src/run/signals.c). */
PETSC_EXTERN void           MoeDeferStopSignals(void);
PETSC_EXTERN PetscErrorCode MoeInstallStopHandlers(void);
PETSC_EXTERN PetscErrorCode MoeKeepStopHandlersPastFinalize(void);
PETSC_EXTERN PetscBool      MoeStopRequested(void);
PETSC_EXTERN void           MoeRequestStop(void);

PETSC_EXTERN PetscErrorCode MoeRunMaster(const MoeGrid *, MoeResults *, const MoeRunOptions *, const char command[]);
PETSC_EXTERN PetscErrorCode MoeRunWorker(const MoeGrid *, const MoeRunOptions *);
PETSC_EXTERN PetscErrorCode MoeRunSerial(const MoeGrid *, MoeResults *, const MoeRunOptions *, const char command[]);

#endif
