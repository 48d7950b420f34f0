/* bench/generate: the time the last rank of a group takes to draw its rows of one replicate (figure 11).

     generate -n 10000000 -d 32 -kstar 8 -k 9 -truth_regime 1 -truth_expert_var 0.03125 -allow_ill_posed -reference_n 10000 \
              [-groups 1,2,8,64] [-repeat 3] [-json]

   The spec's options are moerate fit's (the truth is screened and kept as the fit's would be).  For each
   group size g the last rank holds chunks P (g - 1) / g .. P - 1 of the P chunks of the sample
   (moedata.h); it draws them with -data_streams rows (one generator per sample: every earlier draw is
   drawn and dropped) and with blocks (one generator per chunk, format 6).  Printed: the median of
   -repeat trials of each, in seconds, and whether the two agree on chunk 0 (g = 1).  With -json one
   JSON line.  Run on one rank: it times a rank's share without forming the group. */
#include <moedata.h>
#include <moerate.h>

static PetscReal Median(PetscReal *t, PetscInt n)
{
  PetscCallAbort(PETSC_COMM_SELF, PetscSortReal(n, t));
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Median seconds to draw chunks c0 .. P - 1 of replicate 0 with the given streams. */
static PetscErrorCode TimeShare(MoeDataParams dp, const MoeTruth *truth, PetscInt64 n, PetscInt c0, MoeDataStreams streams, PetscInt repeat, PetscReal *seconds)
{
  PetscReal *t;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(repeat, &t));
  dp.streams = streams;
  for (PetscInt i = 0; i < repeat; i++) {
    MoeData       *D;
    PetscLogDouble t0 = MoeWallTime();
    PetscCall(MoeDataGenerateChunks(&dp, truth, n, 0, c0, MoeDataChunks(n), &D));
    t[i] = (PetscReal)(MoeWallTime() - t0);
    PetscCall(MoeDataDestroy(&D));
  }
  *seconds = Median(t, repeat);
  PetscCall(PetscFree(t));
  PetscFunctionReturn(0);
}

/* Do rows and blocks draw the same first chunk (their shared seed)? */
static PetscErrorCode SameFirstChunk(MoeDataParams dp, const MoeTruth *truth, PetscInt64 n, PetscBool *same)
{
  MoeData *A, *B;

  PetscFunctionBegin;
  dp.streams = MOE_STREAMS_ROWS;
  PetscCall(MoeDataGenerateChunks(&dp, truth, n, 0, 0, 1, &A));
  dp.streams = MOE_STREAMS_BLOCKS;
  PetscCall(MoeDataGenerateChunks(&dp, truth, n, 0, 0, 1, &B));
  PetscCall(PetscArraycmp(A->X, B->X, (size_t)A->n * A->d, same));
  if (*same) PetscCall(PetscArraycmp(A->Y, B->Y, A->n, same));
  PetscCall(MoeDataDestroy(&A));
  PetscCall(MoeDataDestroy(&B));
  PetscFunctionReturn(0);
}

static PetscErrorCode Run(void)
{
  MoeSpec      *spec;
  MoeTruth     *truth;
  MoeDataParams dp;
  PetscInt      groups[16] = {1, 2, 8, 64}, ng = 16, repeat = 3;
  PetscBool     json = PETSC_FALSE, set, same;
  PetscInt64    n;
  PetscInt      P;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-groups", groups, &ng, &set));
  if (!set) ng = 4;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-repeat", &repeat, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-json", &json, NULL));
  MoeUserCheck(repeat >= 1, "-repeat %" PetscInt_FMT " must be at least 1", repeat);
  PetscCall(MoeSpecCreate(PETSC_COMM_SELF, NULL, PETSC_FALSE, NULL, &spec));
  PetscCall(MoeTruthSelect(spec, &truth));
  MoeSpecDataParams(spec, &dp);
  n = spec->ns[0];
  P = MoeDataChunks(n);
  PetscCall(SameFirstChunk(dp, truth, n, &same));
  { /* the first draw of a whole sample pays for its pages: untimed */
    PetscReal warm;
    PetscCall(TimeShare(dp, truth, n, 0, MOE_STREAMS_BLOCKS, 1, &warm));
  }
  if (json) PetscCall(PetscPrintf(PETSC_COMM_SELF, "{\"n\": %" PetscInt_FMT ", \"d\": %" PetscInt_FMT ", \"chunks\": %" PetscInt_FMT ", \"same_first_chunk\": %s, \"shares\": [", (PetscInt)n, spec->d, P, same ? "true" : "false"));
  else PetscCall(PetscPrintf(PETSC_COMM_SELF, "figure 11: the last rank's rows of one replicate, n = %" PetscInt_FMT ", d = %" PetscInt_FMT ", %" PetscInt_FMT " chunks (chunk 0 the same in both: %s)\n", (PetscInt)n, spec->d, P, same ? "yes" : "NO"));
  for (PetscInt i = 0; i < ng; i++) {
    PetscInt  g  = groups[i], c0;
    PetscReal rows, blocks;
    MoeUserCheck(g >= 1, "-groups: %" PetscInt_FMT " is not a group size", g);
    c0 = P * (g - 1) / g;
    PetscCall(TimeShare(dp, truth, n, c0, MOE_STREAMS_ROWS, repeat, &rows));
    PetscCall(TimeShare(dp, truth, n, c0, MOE_STREAMS_BLOCKS, repeat, &blocks));
    if (json) PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s{\"g\": %" PetscInt_FMT ", \"chunks\": %" PetscInt_FMT ", \"rows_s\": %.4f, \"blocks_s\": %.4f}", i ? ", " : "", g, P - c0, (double)rows, (double)blocks));
    else PetscCall(PetscPrintf(PETSC_COMM_SELF, "  g = %3" PetscInt_FMT ": %2" PetscInt_FMT " chunks, rows %8.3f s, blocks %8.3f s (%.1fx)\n", g, P - c0, (double)rows, (double)blocks, (double)(rows / blocks)));
  }
  if (json) PetscCall(PetscPrintf(PETSC_COMM_SELF, "]}\n"));
  PetscCall(MoeTruthDestroy(&truth));
  PetscCall(MoeSpecDestroy(&spec));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(Run());
  PetscCall(PetscFinalize());
  return 0;
}
