/*
   Grid: the tasks of an experiment and their records (src/grid/).

   Task grid.  One replicate task per (gating, expert, estimator, n, replicate), numbered
     id = (((gating * E + expert) * S + estimator) * N + n_index) * R + replicate,
   followed by one reference task per (gating, expert) pair whose losses need the
   reference G-bar, then, with -stability_replicates R, the restart tasks of the stability
   diagnostic: for every pair, estimator the theory is about, n, replicate r < R and restart
   j = 1..-stability_starts, the fit of replicate r's data from starts of its own.  Everything a
   task computes follows from the spec and its id, so the numbers do not depend on the rank that
   runs it or on the order of the tasks.

   Records.  A task's result is a fixed-size record, defined once by MOE_RECORD_FIELDS below: the
   struct, the MPI message and the journal entry (its bytes), the HDF5 compound of /tasks/records
   and its documentation (src/store/) all follow from that list, and docs/FORMAT.md's table and byte
   offsets are checked against it (tests/python/test_layout.py).  Adding a field is one row here and
   the line that computes it.
*/
#ifndef MOEGRID_H
#define MOEGRID_H

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

/* The record of a task, one row per field in memory order: X(C type, name, kind, meaning).  The kind
   names the file's type (MoeRecordKind); the meaning is the /tasks/records documentation. */
#define MOE_RECORD_FIELDS(X) \
  X(int64_t, id, MOE_FIELD_INT64, "task id = row") \
  X(int64_t, n, MOE_FIELD_INT64, "sample size") \
  X(int64_t, replicate, MOE_FIELD_INT64, "replicate index") \
  X(uint64_t, seed, MOE_FIELD_UINT64, "seed of the data stream (SplitMix64 of seed, stream, n, replicate)") \
  X(int32_t, kind, MOE_FIELD_INT32, "0 replicate, 1 reference fit G-bar, 2 restart (the stability diagnostic: a replicate's data fitted again from other starts)") \
  X(int32_t, gating, MOE_FIELD_INT32, "index into /grid/gatings") \
  X(int32_t, expert, MOE_FIELD_INT32, "index into /grid/experts") \
  X(int32_t, estimator, MOE_FIELD_INT32, "index into /grid/estimators (reference fits: 0)") \
  X(int32_t, status, MOE_FIELD_INT32, "0 pending, 1 converged, 2 failed, 3 skipped") \
  X(int32_t, reason, MOE_FIELD_INT32, "TaoConvergedReason (8 = CONVERGED_FTOL, moerate's objective-decrease test), -100 PETSc error in the solve (e.g. Inf/NaN), -101 unbounded, -102 stalled") \
  X(int32_t, iterations, MOE_FIELD_INT32, "TAO iterations") \
  X(int32_t, start, MOE_FIELD_INT32, "the start kept (multi-start)") \
  X(int32_t, rank, MOE_FIELD_INT32, "MPI rank that ran it") \
  X(int32_t, p, MOE_FIELD_INT32, "parameters (full layout)") \
  X(int32_t, certified, MOE_FIELD_INT32, "replicate: 1 when gap <= -certify_tol; reference: 1 when G-bar is identified") \
  X(int32_t, starts_used, MOE_FIELD_INT32, "starts the fit took") \
  X(int32_t, restart, MOE_FIELD_INT32, "restart tasks: which restart of the replicate (1, 2, ...); else 0") \
  X(double, objective, MOE_FIELD_DOUBLE, "(1/2n) sum (Y - f(X))^2") \
  X(double, gradient_norm, MOE_FIELD_DOUBLE, "norm of its gradient") \
  X(double, ref_objective, MOE_FIELD_DOUBLE, "objective of the reference point (truth embedded in k atoms, or G-bar) on the same data") \
  X(double, gap, MOE_FIELD_DOUBLE, "2n/noise (objective - ref_objective)") \
  X(double, gradient_z, MOE_FIELD_DOUBLE, "max_j |g_j| / sqrt(noise H_jj / n) at the end of the kept fit") \
  X(double, weak_sd, MOE_FIELD_DOUBLE, "reference: sd along G-bar's weakest Fisher direction at the smallest n") \
  X(double, truth_shift, MOE_FIELD_DOUBLE, "replicate and restart: n^-drift_rate when the truth moves with n (the task's truth is theta* + truth_shift drift, /truth/EXPERT/drift), else 0") \
  X(double, wall_time, MOE_FIELD_DOUBLE, "seconds") \
  X(double, t_start, MOE_FIELD_DOUBLE, "UNIX time in seconds") \
  X(double, t_end, MOE_FIELD_DOUBLE, "UNIX time in seconds")

typedef enum {
  MOE_FIELD_INT32,
  MOE_FIELD_INT64,
  MOE_FIELD_UINT64,
  MOE_FIELD_DOUBLE
} MoeRecordKind;

typedef struct {
#define MOE_RECORD_MEMBER(ctype, name, kind, meaning) ctype name;
  MOE_RECORD_FIELDS(MOE_RECORD_MEMBER)
#undef MOE_RECORD_MEMBER
} MoeRecord;

/* One field of the record: what the store builds the file's compound type from. */
typedef struct {
  const char   *name;
  size_t        offset;
  MoeRecordKind kind;
  const char   *meaning;
} MoeRecordField;

PETSC_EXTERN void MoeRecordFields(PetscInt *n, const MoeRecordField **);
PETSC_EXTERN void MoeRecordInit(const MoeGrid *, PetscInt64 id, MoeRecord *);
PETSC_EXTERN PetscBool MoeRecordIsTask(const MoeGrid *, const MoeRecord *);
/* The outcome of a replicate's fit and its certificate, as every estimator's records hold it. */
PETSC_EXTERN void MoeRecordSetFit(MoeRecord *, const MoeFitResult *, const MoeCertificate *);

/* A session: one invocation of `moerate run` on the file (a run resumed twice has three). */
typedef struct {
  double  start, end;
  double  io_time; /* seconds spent writing the results file */
  int32_t ranks, exit_status;
  char    host[64];
} MoeSession;

#define MOE_TOKEN_LEN 17 /* 16 hex digits naming a whole write of the results file, and a NUL */

/* Results of a run held in memory (the master's copy: a flush writes it whole, or appends its new
   results to the journal; src/run/memory.c makes it). */
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

#endif
