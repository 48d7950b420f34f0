/*
   Generate: the truth G*, a replicate's data (X, Y) and its initial points.

   Determinism.  Every random number comes from a GSL mt19937 generator whose seed is
   derived from (experiment seed, stream, n, replicate, index) by MoeStreamSeed (a
   SplitMix64 chain, see src/data/rng.c).  A replicate's data therefore depend only on
   (seed, n, replicate): not on the rank that computes them, the order of the tasks, or
   the gating being fitted (all gatings at the same (n, replicate) see the same data).
*/
#ifndef MOEDATA_H
#define MOEDATA_H

#include <moespec.h>
#include <gsl/gsl_rng.h>


PETSC_EXTERN PetscErrorCode MoeRngCreate(PetscInt64 seed, MoeStream, PetscInt64 n, PetscInt64 replicate, PetscInt64 index, gsl_rng **);

/* The true mixing measure G*. */
typedef struct {
  MoeModel   model;  /* truth gating x expert, k*, d */
  PetscReal *theta;  /* full layout of model */
  PetscReal *drift;  /* a truth that moves with n (truth files only): the truth of size n is theta + n^-drift_rate drift; NULL: fixed */
  PetscReal  drift_rate;
  char       source[PETSC_MAX_PATH_LEN + 64];
  PetscInt   draw, rejected; /* a drawn truth: its draw of -truth_seed, and the draws rejected before it */
  /* screening (MoeTruthScreen) */
  PetscReal *fisher;    /* eigenvalues of its Fisher information, ascending, or NULL */
  PetscReal  sd;        /* an estimate's sd along the weakest direction at the smallest n */
  PetscReal *sd_by_n;   /* a truth that moves with n: that sd at every n of the grid, each n's truth (nsizes values), else NULL */
  PetscReal *theta_by_n; /* and the truth of every n (nsizes x p) */
  PetscInt  *sizes, nsizes;
  PetscBool  wellposed; /* passed the screening */
  char       why[512];  /* why not */
} MoeTruth;

PETSC_EXTERN PetscErrorCode MoeTruthCreate(const MoeSpec *, PetscInt e, MoeTruth **);
PETSC_EXTERN PetscErrorCode MoeTruthDestroy(MoeTruth **);
/* n^-drift_rate for a truth that moves with n, 0 for a fixed one (the records' truth_shift). */
PETSC_EXTERN PetscReal      MoeTruthShift(const MoeTruth *, PetscInt64 n);
/* The truth of the tasks of size n: a view of t (its model, not owned) whose theta (p values, the caller's) is moved by n's drift. */
PETSC_EXTERN PetscErrorCode MoeTruthAtN(const MoeTruth *t, PetscInt64 n, PetscReal *theta, MoeTruth *tn);
PETSC_EXTERN PetscErrorCode MoeTruthScreen(const MoeSpec *, MoeTruth *);
PETSC_EXTERN PetscErrorCode MoeTruthSelect(MoeSpec *, MoeTruth **kept);

/* A sample: X is row-major n x d.  A replicate fitted by a group of ranks (-fit_group) is spread
   over them: this rank holds rows r0 .. r0 + n - 1 of the nglobal rows, its chunks chunk0 ..
   chunk1 - 1 (MoeDataChunks), and comm is the group; sums over the sample are then taken chunk by
   chunk and added in a fixed shape (MoeDataGroupSum), so they do not depend on the group's size.  comm
   MPI_COMM_NULL: the whole sample on this rank, summed the same way (chunked, -fit_order chunks, the
   default) or in row order. */
typedef struct {
  PetscInt   n, d;
  PetscReal *X, *Y;
  PetscInt64 nglobal, r0;
  PetscInt   chunk0, chunk1;
  MPI_Comm   comm;
  PetscBool  chunked; /* without a group: sums over the chunks all the same */
} MoeData;

PETSC_EXTERN PetscErrorCode MoeDataCreate(PetscInt n, PetscInt d, MoeData **);
PETSC_EXTERN PetscErrorCode MoeDataDestroy(MoeData **);
PETSC_EXTERN PetscErrorCode MoeDataSampleX(const MoeDataParams *, MoeStream, PetscInt64 n, PetscInt64 replicate, MoeData *);
PETSC_EXTERN PetscErrorCode MoeDataGenerate(const MoeDataParams *, const MoeTruth *, PetscInt64 n, PetscInt64 replicate, MoeData **);
/* Chunks c0 .. c1 - 1 (MoeDataChunks below) of the replicate, as the rank of a group that holds them draws them. */
PETSC_EXTERN PetscErrorCode MoeDataGenerateChunks(const MoeDataParams *, const MoeTruth *, PetscInt64 n, PetscInt64 replicate, PetscInt c0, PetscInt c1, MoeData **);
/* Chunks: a sample of N rows fitted in a group is cut into MoeDataChunks(N) chunks of consecutive
   rows (at most MOE_DATA_CHUNKS, at least MOE_DATA_CHUNK_MIN rows each), fixed by N alone; chunk c
   starts at row MoeDataChunkStart(N, c).  Rank r of a group of g holds chunks r P / g .. (r + 1) P / g - 1. */
#define MOE_DATA_CHUNKS    64
#define MOE_DATA_CHUNK_MIN 1024
/* A formula of N alone, here so that the schedule, which sizes groups by it, need not call the data room. */
static inline PetscInt MoeDataChunks(PetscInt64 N)
{
  return (PetscInt)PetscMax(1, PetscMin(MOE_DATA_CHUNKS, N / MOE_DATA_CHUNK_MIN));
}
PETSC_EXTERN PetscInt64     MoeDataChunkStart(PetscInt64 N, PetscInt c);
/* v = chunk c of D (one of this rank's), a whole sample of its own rows that shares D's storage. */
PETSC_EXTERN void           MoeDataChunkView(const MoeData *D, PetscInt c, MoeData *v);
PETSC_EXTERN PetscBool      MoeDataGrouped(const MoeData *);
/* Are the sample's sums taken over its chunks (in a group, or -fit_order chunks on one rank)? */
PETSC_EXTERN PetscBool      MoeDataChunked(const MoeData *);
/* The sample's size for statistics (tolerances, the certificate): nglobal. */
PETSC_EXTERN PetscInt64     MoeDataSize(const MoeData *);
/* out[0..count) = sum over the sample's chunks c of (n_c / N) fn(chunk c), added pairwise in a shape
   fixed by the number of chunks (fn: a mean over the rows of its view, e.g. an objective and its gradient, at the parameters
   point[0..npoint)), on every rank of the group, bit for bit the same for any group size and for a
   chunked sample on one rank; a sample summed in row order: fn(D) itself.  In a group the ranks must hold the same point, bit for bit (each runs its
   own TAO on the same sums): a rank that does not (another BLAS on another node) is an error on
   every rank, not a silent drift. */
typedef PetscErrorCode (*MoeDataChunkFn)(void *ctx, const MoeData *view, PetscReal *out);
PETSC_EXTERN PetscErrorCode MoeDataGroupSum(const MoeData *, const PetscReal *point, PetscInt npoint, PetscInt count, MoeDataChunkFn, void *ctx, PetscReal *out);
PETSC_EXTERN PetscErrorCode MoeDataEvaluationSample(const MoeDataParams *, const MoeTruth *, MoeData **);
PETSC_EXTERN PetscErrorCode MoeDataReferenceSample(const MoeDataParams *, const MoeTruth *, MoeData **);

/* Initial points (full layout of the fitted model); start s of replicate (n, rep). */
PETSC_EXTERN PetscErrorCode MoeNearTarget(MoeModel, const MoeTruth *, const PetscReal *reference, MoeTruth *);
PETSC_EXTERN PetscErrorCode MoeReferencePoint(MoeModel, const MoeTruth *target, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeInitialPoint(const MoeInitParams *, MoeModel, const MoeTruth *, MoeStream, PetscInt64 n, PetscInt64 replicate, PetscInt start, PetscReal *theta);

/* The Fisher check of model m at theta on inputs E at sample size n (src/data/screen.c). */
PETSC_EXTERN PetscErrorCode MoeFisherCheck(MoeModel, const PetscReal *theta, const MoeData *E, PetscReal noise, PetscInt n, PetscReal max_sd, PetscReal *eig, PetscReal *sd, char why[], size_t len);

#endif
