/* A replicate's sample spread over a group of ranks (-fit_group): the chunks of its rows and the
   sums over them.

   Every sum a fit takes over the sample (objective, gradient, Hessian, log-likelihood) is, in a
   group, a sum over fixed chunks of rows: each chunk's mean computed as one rank computes it over
   a whole sample, weighted by its share of the rows, and the chunks added pairwise in a shape fixed
   by their number (MoeDataGroupSum).  The chunks depend on N alone, so the result is the same, bit
   for bit, whatever the group's size, and every rank of the group gets the same bits (rank 0 adds
   them up and broadcasts): TAO then takes the same steps on every rank.  A fit on one rank takes the
   same sums the same way (-fit_order chunks, the default), so it gives the bits of any group.
   (-fit_order rows sums in row order, as the results before that default were made; its Hessian is
   a left fold of dsyrk over 256-row blocks that a group could only reproduce by passing the running
   p x p sum from rank to rank, one rank at a time.) */
#include <moedata.h>
#include <moerate.h>

PetscInt64 MoeDataChunkStart(PetscInt64 N, PetscInt c)
{
  return N * c / MoeDataChunks(N);
}

PetscBool MoeDataGrouped(const MoeData *D)
{
  return (PetscBool)(D->comm != MPI_COMM_NULL);
}

PetscBool MoeDataChunked(const MoeData *D)
{
  return (PetscBool)(MoeDataGrouped(D) || D->chunked);
}

PetscInt64 MoeDataSize(const MoeData *D)
{
  return D->nglobal;
}

void MoeDataChunkView(const MoeData *D, PetscInt c, MoeData *v)
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
  v->chunked = PETSC_FALSE; /* a chunk is summed in row order */
}

/* buf = (n_c / N) fn(chunk c) */
static PetscErrorCode ChunkTerm(const MoeData *D, PetscInt c, PetscInt count, MoeDataChunkFn fn, void *ctx, PetscReal *buf)
{
  MoeData   v;
  PetscReal w;

  PetscFunctionBegin;
  MoeDataChunkView(D, c, &v);
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

/* The pairwise sum of the chunks' terms in a fixed shape (a binary counter): the terms enter a stack in
   chunk order, and while the two on top cover blocks of the same size they are replaced by their sum
   (the earlier one on the left); at the end the stack is added up from its top.  A block of 2^k chunks
   that starts at a multiple of 2^k can enter as its own sum, with level k: whoever summed it, the
   same additions happen in the same order, so each rank sums such blocks of its own chunks and the
   group's rank 0 stacks them up, and the sum is the same bit for bit for any group.  A rank holds at
   most about log2(64) + 1 partial sums at a time (p(p + 1)/2 numbers each for a Hessian's packed upper
   triangle). */
typedef struct {
  PetscInt   top, count;
  PetscInt   level[MOE_DATA_CHUNKS + 1];
  PetscReal *v[MOE_DATA_CHUNKS + 1];
} PairStack;

/* Push a sum of 2^level chunks (the stack takes v, a PetscMalloc'ed array of count values). */
static PetscErrorCode PairPush(PairStack *S, PetscInt level, PetscReal *v)
{
  PetscFunctionBegin;
  while (S->top > 0 && S->level[S->top - 1] == level) {
    PetscReal *left = S->v[--S->top];
    for (PetscInt j = 0; j < S->count; j++) left[j] = left[j] + v[j];
    PetscCall(PetscFree(v));
    v = left;
    level++;
  }
  S->level[S->top] = level;
  S->v[S->top++]   = v;
  PetscFunctionReturn(0);
}

/* The whole stack's sum into out (the stack is emptied). */
static PetscErrorCode PairFinish(PairStack *S, PetscReal *out)
{
  PetscFunctionBegin;
  PetscCheck(S->top > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "an empty sum of chunks");
  for (PetscInt i = S->top - 2; i >= 0; i--) {
    for (PetscInt j = 0; j < S->count; j++) S->v[i][j] = S->v[i][j] + S->v[i + 1][j];
    PetscCall(PetscFree(S->v[i + 1]));
  }
  PetscCall(PetscArraycpy(out, S->v[0], S->count));
  PetscCall(PetscFree(S->v[0]));
  S->top = 0;
  PetscFunctionReturn(0);
}

/* The next aligned block of the chunks [a, end): [a, a + 2^k), k as large as a's alignment and end allow. */
static PetscInt BlockLevel(PetscInt a, PetscInt end)
{
  PetscInt k = 0;
  while ((a % (2 << k)) == 0 && a + (2 << k) <= end) k++;
  return k;
}

/* The sum of the chunks [a, a + 2^k) of this rank, into a new array *v (a stack of its own). */
static PetscErrorCode BlockSum(const MoeData *D, PetscInt a, PetscInt k, PetscInt count, MoeDataChunkFn fn, void *ctx, PetscReal **v)
{
  PairStack S;

  PetscFunctionBegin;
  S.top   = 0;
  S.count = count;
  for (PetscInt c = a; c < a + (1 << k); c++) {
    PetscReal *t;
    PetscCall(PetscMalloc1(count, &t));
    PetscCall(ChunkTerm(D, c, count, fn, ctx, t));
    PetscCall(PairPush(&S, 0, t));
  }
  PetscCheck(S.top == 1 && S.level[0] == k, PETSC_COMM_SELF, PETSC_ERR_PLIB, "an aligned block of chunks did not sum to one entry");
  *v = S.v[0];
  PetscFunctionReturn(0);
}

/* This rank's chunks, as aligned blocks, onto the stack S (in chunk order). */
static PetscErrorCode StackOwnBlocks(const MoeData *D, PetscInt count, MoeDataChunkFn fn, void *ctx, PairStack *S)
{
  PetscFunctionBegin;
  for (PetscInt a = D->chunk0, k; a < D->chunk1; a += 1 << k) {
    PetscReal *v;
    k = BlockLevel(a, D->chunk1);
    PetscCall(BlockSum(D, a, k, count, fn, ctx, &v));
    PetscCall(PairPush(S, k, v));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeDataGroupSum(const MoeData *D, const PetscReal *point, PetscInt npoint, PetscInt count, MoeDataChunkFn fn, void *ctx, PetscReal *out)
{
  PetscMPIInt rank, size, icount;
  PetscInt    P = MoeDataChunks(D->nglobal);
  PairStack   S = {.top = 0, .count = count};

  PetscFunctionBegin;
  if (!MoeDataChunked(D)) {
    PetscCall(fn(ctx, D, out));
    PetscFunctionReturn(0);
  }
  if (!MoeDataGrouped(D)) { /* one rank: what a group's rank 0 does with its own chunks, all of them */
    PetscCall(StackOwnBlocks(D, count, fn, ctx, &S));
    PetscCall(PairFinish(&S, out));
    PetscFunctionReturn(0);
  }
  PetscCall(CheckSamePoint(D, point, npoint));
  PetscCallMPI(MPI_Comm_rank(D->comm, &rank));
  PetscCallMPI(MPI_Comm_size(D->comm, &size));
  PetscCall(PetscMPIIntCast(count, &icount));
  if (rank == 0) { /* its own blocks, then every other rank's, stacked in chunk order */
    PetscCall(StackOwnBlocks(D, count, fn, ctx, &S));
    for (PetscMPIInt r = 1; r < size; r++) {
      PetscInt c1 = P * (r + 1) / size;
      for (PetscInt a = P * r / size, k; a < c1; a += 1 << k) {
        PetscReal *v;
        k = BlockLevel(a, c1);
        PetscCall(PetscMalloc1(count, &v));
        PetscCallMPI(MPI_Recv(v, icount, MPIU_REAL, r, (int)a, D->comm, MPI_STATUS_IGNORE));
        PetscCall(PairPush(&S, k, v));
      }
    }
    PetscCall(PairFinish(&S, out));
  } else { /* each block's sum goes as soon as it is done (rank 0 takes them in order) */
    PetscInt     nb = 0;
    PetscReal   *v[2 * MOE_DATA_CHUNKS];
    MPI_Request  req[2 * MOE_DATA_CHUNKS];
    for (PetscInt a = D->chunk0, k; a < D->chunk1; a += 1 << k, nb++) {
      k = BlockLevel(a, D->chunk1);
      PetscCall(BlockSum(D, a, k, count, fn, ctx, &v[nb]));
      PetscCallMPI(MPI_Isend(v[nb], icount, MPIU_REAL, 0, (int)a, D->comm, &req[nb]));
    }
    PetscCallMPI(MPI_Waitall((int)nb, req, MPI_STATUSES_IGNORE));
    for (PetscInt i = 0; i < nb; i++) PetscCall(PetscFree(v[i]));
  }
  PetscCallMPI(MPI_Bcast(out, icount, MPIU_REAL, 0, D->comm));
  PetscFunctionReturn(0);
}
