/* A replicate's sample spread over a group of ranks (-fit_group): the chunks of its rows and the
   sums over them.

   Every sum a fit takes over the sample (objective, gradient, Hessian, log-likelihood) is, in a
   group, a sum over fixed chunks of rows: each chunk's mean computed as one rank computes it over
   a whole sample, weighted by its share of the rows and added in chunk order.  The chunks depend on
   N alone, so the result is the same, bit for bit, whatever the group's size, and every rank of the
   group gets the same bits (rank 0 adds them up and broadcasts): TAO then takes the same steps on
   every rank.  (The one-rank fit without -fit_group sums in row order, as every committed result was
   made; its Hessian is a left fold of dsyrk over 256-row blocks that a group could only reproduce by
   passing the running p x p sum from rank to rank.) */
#include <moedata.h>
#include <moerate.h>

PetscInt MoeDataChunks(PetscInt64 N)
{
  return (PetscInt)PetscMax(1, PetscMin(MOE_DATA_CHUNKS, N / MOE_DATA_CHUNK_MIN));
}

PetscInt64 MoeDataChunkStart(PetscInt64 N, PetscInt c)
{
  return N * c / MoeDataChunks(N);
}

PetscBool MoeDataGrouped(const MoeData *D)
{
  return (PetscBool)(D->comm != MPI_COMM_NULL);
}

PetscInt64 MoeDataSize(const MoeData *D)
{
  return D->nglobal;
}

/* A view of chunk c of D (this rank's), sharing D's rows. */
static void ChunkView(const MoeData *D, PetscInt c, MoeData *v)
{
  PetscInt64 a = MoeDataChunkStart(D->nglobal, c) - D->r0, b = MoeDataChunkStart(D->nglobal, c + 1) - D->r0;

  *v         = *D;
  v->X       = D->X + (size_t)a * D->d;
  v->Y       = D->Y + a;
  v->n       = (PetscInt)(b - a);
  v->nglobal = b - a;
  v->r0      = D->r0 + a;
  v->chunk0  = c;
  v->chunk1  = c + 1;
  v->comm    = MPI_COMM_NULL;
}

/* buf = (n_c / N) fn(chunk c) */
static PetscErrorCode ChunkTerm(const MoeData *D, PetscInt c, PetscInt count, MoeDataChunkFn fn, void *ctx, PetscReal *buf)
{
  MoeData   v;
  PetscReal w;

  PetscFunctionBegin;
  ChunkView(D, c, &v);
  PetscCall(fn(ctx, &v, buf));
  w = (PetscReal)v.n / (PetscReal)D->nglobal;
  for (PetscInt j = 0; j < count; j++) buf[j] *= w;
  PetscFunctionReturn(0);
}

/* Do the group's ranks hold the same point?  (The largest hash and the largest complement of a hash
   tell the largest from the smallest in one reduction.) */
static PetscErrorCode CheckSamePoint(const MoeData *D, const PetscReal *point, PetscInt npoint)
{
  uint64_t h[2], all[2];

  PetscFunctionBegin;
  h[0] = MoeHash64(point, sizeof(PetscReal) * (size_t)npoint);
  h[1] = ~h[0];
  PetscCallMPI(MPI_Allreduce(h, all, 2, MPI_UINT64_T, MPI_MAX, D->comm));
  PetscCheck(all[0] == ~all[1], PETSC_COMM_SELF, PETSC_ERR_PLIB, "the ranks of a -fit_group group hold different parameters: their arithmetic differs (the same moerate binary and BLAS kernels on every node of a group?)");
  PetscFunctionReturn(0);
}

PetscErrorCode MoeDataGroupSum(const MoeData *D, const PetscReal *point, PetscInt npoint, PetscInt count, MoeDataChunkFn fn, void *ctx, PetscReal *out)
{
  PetscMPIInt rank, size, r;
  PetscInt    c, nc = D->chunk1 - D->chunk0, P = MoeDataChunks(D->nglobal);
  PetscReal  *buf;
  PetscMPIInt icount;

  PetscFunctionBegin;
  if (!MoeDataGrouped(D)) {
    PetscCall(fn(ctx, D, out));
    PetscFunctionReturn(0);
  }
  PetscCall(CheckSamePoint(D, point, npoint));
  PetscCallMPI(MPI_Comm_rank(D->comm, &rank));
  PetscCallMPI(MPI_Comm_size(D->comm, &size));
  PetscCall(PetscMPIIntCast(count, &icount));
  if (rank == 0) { /* its own chunks, then every other rank's in rank order: the chunk order */
    PetscCall(PetscMalloc1(count, &buf));
    for (PetscInt j = 0; j < count; j++) out[j] = 0;
    for (c = D->chunk0; c < D->chunk1; c++) {
      PetscCall(ChunkTerm(D, c, count, fn, ctx, buf));
      for (PetscInt j = 0; j < count; j++) out[j] += buf[j];
    }
    for (r = 1; r < size; r++)
      for (c = P * r / size; c < P * (r + 1) / size; c++) {
        PetscCallMPI(MPI_Recv(buf, icount, MPIU_REAL, r, (int)c, D->comm, MPI_STATUS_IGNORE));
        for (PetscInt j = 0; j < count; j++) out[j] += buf[j];
      }
    PetscCall(PetscFree(buf));
  } else { /* all of its chunks first: rank 0 takes them in order */
    PetscCall(PetscMalloc1((size_t)PetscMax(nc, 1) * count, &buf));
    for (c = 0; c < nc; c++) PetscCall(ChunkTerm(D, D->chunk0 + c, count, fn, ctx, buf + (size_t)c * count));
    for (c = 0; c < nc; c++) PetscCallMPI(MPI_Send(buf + (size_t)c * count, icount, MPIU_REAL, 0, (int)(D->chunk0 + c), D->comm));
    PetscCall(PetscFree(buf));
  }
  PetscCallMPI(MPI_Bcast(out, icount, MPIU_REAL, 0, D->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeDataGroupAny(const MoeData *D, PetscBool *flag)
{
  int in = *flag ? 1 : 0, any;

  PetscFunctionBegin;
  if (!MoeDataGrouped(D)) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Allreduce(&in, &any, 1, MPI_INT, MPI_MAX, D->comm));
  *flag = any ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}
