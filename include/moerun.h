/*
   Schedule: `moerate run` executes every task of an experiment grid.

   Task grid.  One replicate task per (gating, expert, estimator, n, replicate), numbered
     id = (((gating * E + expert) * S + estimator) * N + n_index) * R + replicate,
   followed by one reference task per (gating, expert) pair whose losses need the
   reference G-bar, then, with -stability_replicates R, the restart tasks of the stability
   diagnostic: for every pair, estimator the theory is about, n, replicate r < R and restart
   j = 1..-stability_starts, the fit of replicate r's data from starts of its own.  Everything a task computes follows from the spec and its id, so the
   numbers do not depend on the rank that runs it or on the order of the tasks.

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

#include <moecertify.h>

typedef enum {
  MOE_TASK_REPLICATE = 0,
  MOE_TASK_REFERENCE = 1,
  MOE_TASK_RESTART   = 2
} MoeTaskKind;

typedef struct {
  PetscInt64 id;
  PetscInt   kind, gating, expert, estimator, replicate, pair, restart;
  PetscInt64 n;
  PetscReal  cost; /* expected relative cost, for the largest-first order */
} MoeTask;

/* A (gating, expert) pair: its model size and reference task. */
typedef struct {
  PetscInt   gating, expert;
  PetscInt   p, pfree;
  PetscBool  reference;     /* losses need G-bar */
  PetscInt64 reference_id;  /* its reference task, or -1 */
} MoePair;

typedef struct {
  const MoeSpec *spec;
  PetscInt64     ntasks, nreplicate, nrestart;
  MoeTask       *tasks;
  PetscInt       npairs;
  MoePair       *pairs;
  PetscInt       pmax; /* largest full parameter count: width of the theta rows */
} MoeGrid;

PETSC_EXTERN PetscErrorCode MoeGridCreate(const MoeSpec *, MoeGrid **);
PETSC_EXTERN PetscErrorCode MoeGridDestroy(MoeGrid **);

/* The fixed-size result of a task. */
typedef struct {
  int64_t id, n, replicate;
  uint64_t seed;    /* seed of the data stream of this (n, replicate) */
  int32_t kind, gating, expert, estimator, status, reason, iterations, start, rank, p;
  int32_t certified, starts_used; /* replicate: the fit is certified (moecertify.h); reference: G-bar is identified */
  int32_t restart;                /* restart task: which restart of the replicate (1..); else 0 */
  double  objective, gradient_norm;
  double  ref_objective, gap; /* replicate: objective of the reference point on the same data, and the gap */
  double  gradient_z;         /* gradient of the kept fit in units of its statistical scale (CONVERGED_FTOL fits) */
  double  weak_sd;            /* reference: sd along G-bar's weakest Fisher direction at the smallest n */
  double  wall_time, t_start, t_end;
} MoeRecord;

/* A session: one invocation of `moerate run` on the file (a run resumed twice has three). */
typedef struct {
  double  start, end;
  double  io_time; /* seconds spent writing the results file */
  int32_t ranks, exit_status;
  char    host[64];
} MoeSession;

PETSC_EXTERN void MoeRecordInit(const MoeGrid *, PetscInt64 id, MoeRecord *);
PETSC_EXTERN PetscBool MoeRecordIsTask(const MoeGrid *, const MoeRecord *);

#define MOE_TOKEN_LEN 17 /* 16 hex digits naming a whole write of the results file, and a NUL */

/* Results of a run held in memory (the master's copy: a flush writes it whole, or appends its new results to the journal). */
typedef struct {
  const MoeGrid *grid;
  PetscInt       nsessions;
  MoeSession    *sessions; /* earlier sessions, then this one */
  MoeRecord     *records; /* [ntasks] */
  PetscReal     *losses;  /* [ntasks x nlosses] */
  PetscReal     *theta;   /* [ntasks x pmax], NaN beyond p */
  PetscInt64     done, failed;
  MoeTruth     **truths; /* per expert family, with their Fisher eigenvalues, for the file */
  MoeModel      *models; /* per pair, for the file */
  char           token[MOE_TOKEN_LEN];          /* of the whole write on disk (or read); journal entries extend it */
  char           previous_token[MOE_TOKEN_LEN]; /* of the whole write before it */
} MoeResults;

PETSC_EXTERN PetscErrorCode MoeResultsCreate(const MoeGrid *, MoeTruth **truths, MoeResults **);
PETSC_EXTERN PetscErrorCode MoeResultsDestroy(MoeResults **);

/* One task on this rank (workers, and the single-rank run). */
typedef struct _p_MoeExecutor *MoeExecutor;
PETSC_EXTERN PetscErrorCode MoeExecutorCreate(const MoeGrid *, MoeExecutor *);
PETSC_EXTERN PetscErrorCode MoeExecutorDestroy(MoeExecutor *);
PETSC_EXTERN PetscErrorCode MoeExecutorSetReference(MoeExecutor, PetscInt pair, const PetscReal *theta);
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
} MoeRunOptions;

/* Stop requests: SIGTERM or SIGUSR1 set this flag (see src/run/signals.c). */
PETSC_EXTERN PetscErrorCode MoeInstallStopHandlers(void);
PETSC_EXTERN PetscBool      MoeStopRequested(void);
PETSC_EXTERN void           MoeRequestStop(void);

/* The results file (src/store/results.c). */
PETSC_EXTERN PetscErrorCode MoeResultsWrite(MoeResults *, const char path[], const char command[], PetscBool complete, PetscLogDouble session_start, PetscReal delay);
PETSC_EXTERN PetscErrorCode MoeResultsLoad(MoeResults *, const char path[], PetscBool retry_failed, PetscBool force, PetscBool *found);
PETSC_EXTERN PetscErrorCode MoeResultsCheckExisting(const MoeSpec *, const char path[], PetscBool force);
PETSC_EXTERN PetscErrorCode MoeResultsLock(const char path[]);
PETSC_EXTERN PetscErrorCode MoeResultsUnlock(void);

/* The journal PATH.journal: results finished since the last whole write (src/store/journal.c). */
PETSC_EXTERN PetscErrorCode MoeJournalPath(const char path[], char journal[], size_t len);
PETSC_EXTERN PetscErrorCode MoeJournalNewToken(char token[MOE_TOKEN_LEN]);
PETSC_EXTERN PetscErrorCode MoeJournalAppend(const MoeResults *, const char path[], const PetscInt64 ids[], PetscInt64 n);
PETSC_EXTERN PetscErrorCode MoeJournalReplay(MoeResults *, const char path[], PetscInt64 *merged);
PETSC_EXTERN PetscErrorCode MoeJournalRemove(const char path[]);
PETSC_EXTERN PetscErrorCode MoeRenameAside(const char what[], const char from[], const char stem[], char chosen[], size_t len, PetscBool *moved);
PETSC_EXTERN PetscErrorCode MoeSyncDirectory(const char path[]);

PETSC_EXTERN PetscErrorCode MoeRunMaster(const MoeGrid *, MoeResults *, const MoeRunOptions *, const char command[]);
PETSC_EXTERN PetscErrorCode MoeRunWorker(const MoeGrid *, const MoeRunOptions *);
PETSC_EXTERN PetscErrorCode MoeRunSerial(const MoeGrid *, MoeResults *, const MoeRunOptions *, const char command[]);

#endif
