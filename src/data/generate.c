/* A replicate's data: X ~ mu (uniform on [lo, hi]^d or N(0, sd^2 I)), Y = f_G*(X) + eps,
   eps ~ N(0, nu).  X and eps come from separate streams keyed by (seed, n, replicate), and with
   -data_streams blocks (the default) by the chunk of rows as well. */
#include <moedata.h>
#include <gsl/gsl_randist.h>

PetscErrorCode MoeDataCreate(PetscInt n, PetscInt d, MoeData **data)
{
  MoeData *D;

  PetscFunctionBegin;
  PetscCall(PetscNew(&D));
  D->n       = n;
  D->d       = d;
  D->nglobal = n;
  D->chunk1  = MoeDataChunks(n);
  D->comm    = MPI_COMM_NULL;
  PetscCall(PetscMalloc2((size_t)n * d, &D->X, n, &D->Y));
  *data = D;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeDataDestroy(MoeData **D)
{
  PetscFunctionBegin;
  if (!*D) PetscFunctionReturn(0);
  PetscCall(PetscFree2((*D)->X, (*D)->Y));
  PetscCall(PetscFree(*D));
  PetscFunctionReturn(0);
}

/* The next `count` inputs of the stream into X (NULL: drawn and dropped, to reach a later row). */
static void DrawX(const MoeDataParams *dp, gsl_rng *rng, size_t count, PetscReal *X)
{
  for (size_t i = 0; i < count; i++) {
    PetscReal x = dp->xdist == MOE_X_UNIFORM ? dp->xlo + (dp->xhi - dp->xlo) * gsl_rng_uniform(rng) : gsl_ran_gaussian_ziggurat(rng, dp->xsd);
    if (X) X[i] = x;
  }
}

/* Draw the inputs of D from stream (seed, stream, n, replicate).  Blocks: chunk c from its own
   generator, index c.  Rows: its rows D->r0 .. D->r0 + D->n - 1 of the one generator's sequence (the
   rows before them are drawn and dropped). */
PetscErrorCode MoeDataSampleX(const MoeDataParams *dp, MoeStream stream, PetscInt64 n, PetscInt64 replicate, MoeData *D)
{
  gsl_rng *rng;

  PetscFunctionBegin;
  if (dp->streams == MOE_STREAMS_BLOCKS) {
    for (PetscInt c = D->chunk0; c < D->chunk1; c++) {
      MoeData V;
      MoeDataChunkView(D, c, &V);
      PetscCall(MoeRngCreate(dp->seed, stream, n, replicate, c, &rng));
      DrawX(dp, rng, (size_t)V.n * V.d, V.X);
      gsl_rng_free(rng);
    }
    PetscFunctionReturn(0);
  }
  PetscCall(MoeRngCreate(dp->seed, stream, n, replicate, 0, &rng));
  DrawX(dp, rng, (size_t)D->r0 * D->d, NULL);
  DrawX(dp, rng, (size_t)D->n * D->d, D->X);
  gsl_rng_free(rng);
  PetscFunctionReturn(0);
}

/* Y_r of the Gaussian MoE: the latent expert z from the gates at X_r (one uniform draw), then
   Y_r ~ N(h_z(X_r), sigma_z^2). */
static PetscErrorCode DrawGaussianMixture(const MoeTruth *truth, gsl_rng *rng, MoeData *D)
{
  MoeModel   m = truth->model;
  PetscReal *gate, *mean;
  PetscInt   r, z;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(m->k, &gate, m->k, &mean));
  for (r = 0; r < D->n; r++) {
    PetscReal u = gsl_rng_uniform(rng), c = 0;
    PetscCall(MoeModelComponents(m, truth->theta, D->X + (size_t)r * D->d, gate, mean));
    for (z = 0; z < m->k - 1; z++) {
      c += gate[z];
      if (u < c) break;
    }
    D->Y[r] = mean[z] + gsl_ran_gaussian_ziggurat(rng, truth->theta[z * m->stride + m->ng + m->ne]);
  }
  PetscCall(PetscFree2(gate, mean));
  PetscFunctionReturn(0);
}

/* Y_r of the contaminated MoE (src/model/contaminated.c). */
static PetscErrorCode DrawContaminated(const MoeTruth *truth, gsl_rng *rng, MoeData *D)
{
  PetscFunctionBegin;
  for (PetscInt r = 0; r < D->n; r++) PetscCall(MoeModelDrawContaminated(truth->model, truth->theta, D->X + (size_t)r * D->d, rng, &D->Y[r]));
  PetscFunctionReturn(0);
}

/* A sample of n rows of which this rank holds chunks c0 .. c1 - 1, shared with the group dp->group. */
static PetscErrorCode CreateChunks(const MoeDataParams *dp, PetscInt64 n, PetscInt c0, PetscInt c1, MoeData **data)
{
  PetscInt64 r0 = MoeDataChunkStart(n, c0), r1 = MoeDataChunkStart(n, c1);

  PetscFunctionBegin;
  PetscCall(MoeDataCreate((PetscInt)(r1 - r0), dp->d, data));
  (*data)->nglobal = n;
  (*data)->r0      = r0;
  (*data)->chunk0  = c0;
  (*data)->chunk1  = c1;
  (*data)->comm    = dp->group;
  PetscFunctionReturn(0);
}

/* The rows of a replicate of n rows this rank holds: all of them (their sums chunked as dp says), or
   with a group (dp->group) its chunks (moedata.h). */
static PetscErrorCode CreateLocal(const MoeDataParams *dp, PetscInt64 n, MoeData **data)
{
  PetscMPIInt rank, size;
  PetscInt    P = MoeDataChunks(n);

  PetscFunctionBegin;
  if (dp->group == MPI_COMM_NULL) {
    PetscCall(MoeDataCreate((PetscInt)n, dp->d, data));
    (*data)->chunked = dp->chunked;
    PetscFunctionReturn(0);
  }
  PetscCallMPI(MPI_Comm_rank(dp->group, &rank));
  PetscCallMPI(MPI_Comm_size(dp->group, &size));
  PetscCall(CreateChunks(dp, n, P * rank / size, P * (rank + 1) / size, data));
  PetscFunctionReturn(0);
}

/* The noise stream's draws of the `rows` rows before this rank's.  A Gaussian MoE row takes one
   uniform and one ziggurat normal whatever its input (sigma only scales the normal), a regression
   row one normal; a contaminated MoE row draws a Gaussian or a Laplace variate as its gate at x
   decides, so the inputs of those rows are drawn again, a batch at a time. */
static PetscErrorCode SkipNoise(const MoeDataParams *dp, const MoeTruth *truth, PetscInt64 n, PetscInt64 replicate, PetscInt64 rows, gsl_rng *rng)
{
  PetscReal sd = PetscSqrtReal(dp->noise);

  PetscFunctionBegin;
  if (truth->model->base && rows > 0) {
    const PetscInt batch = 4096;
    MoeData       *B;
    gsl_rng       *xr;
    PetscCall(MoeDataCreate(batch, dp->d, &B));
    PetscCall(MoeRngCreate(dp->seed, MOE_STREAM_X, n, replicate, 0, &xr));
    for (PetscInt64 r = 0; r < rows; r += B->n) {
      B->n = (PetscInt)PetscMin(batch, rows - r);
      DrawX(dp, xr, (size_t)B->n * dp->d, B->X);
      PetscCall(DrawContaminated(truth, rng, B));
    }
    gsl_rng_free(xr);
    PetscCall(MoeDataDestroy(&B));
  } else if (truth->model->ns)
    for (PetscInt64 r = 0; r < rows; r++) {
      (void)gsl_rng_uniform(rng);
      (void)gsl_ran_gaussian_ziggurat(rng, 1.0);
    }
  else if (sd > 0)
    for (PetscInt64 r = 0; r < rows; r++) (void)gsl_ran_gaussian_ziggurat(rng, sd);
  PetscFunctionReturn(0);
}

/* Y of the rows of D given their X, drawing from rng (stream NOISE). */
static PetscErrorCode DrawY(const MoeDataParams *dp, const MoeTruth *truth, gsl_rng *rng, MoeData *D)
{
  PetscReal sd = PetscSqrtReal(dp->noise);

  PetscFunctionBegin;
  if (truth->model->base) PetscCall(DrawContaminated(truth, rng, D));
  else if (truth->model->ns) PetscCall(DrawGaussianMixture(truth, rng, D));
  else {
    PetscCall(MoeModelEvaluateMany(truth->model, truth->theta, D->n, D->X, D->Y));
    if (sd > 0)
      for (PetscInt i = 0; i < D->n; i++) D->Y[i] += gsl_ran_gaussian_ziggurat(rng, sd);
  }
  PetscFunctionReturn(0);
}

/* A replicate's sample: X from stream X; Y = f_G*(X) + N(0, noise) for the regression model,
   Y drawn from the mixture for the Gaussian and the contaminated MoE (stream NOISE either way).
   In a group each rank draws its own rows only, the same numbers as the rows of the whole sample
   (no rank stores another's rows): with blocks each chunk's own generators, with rows the streams'
   earlier draws skipped. */
static PetscErrorCode FillSample(const MoeDataParams *dp, const MoeTruth *truth, PetscInt64 n, PetscInt64 replicate, MoeData *D)
{
  gsl_rng *rng;

  PetscFunctionBegin;
  PetscCall(MoeDataSampleX(dp, MOE_STREAM_X, n, replicate, D));
  if (dp->streams == MOE_STREAMS_BLOCKS) {
    for (PetscInt c = D->chunk0; c < D->chunk1; c++) {
      MoeData V;
      MoeDataChunkView(D, c, &V);
      PetscCall(MoeRngCreate(dp->seed, MOE_STREAM_NOISE, n, replicate, c, &rng));
      PetscCall(DrawY(dp, truth, rng, &V));
      gsl_rng_free(rng);
    }
  } else {
    PetscCall(MoeRngCreate(dp->seed, MOE_STREAM_NOISE, n, replicate, 0, &rng));
    PetscCall(SkipNoise(dp, truth, n, replicate, D->r0, rng));
    PetscCall(DrawY(dp, truth, rng, D));
    gsl_rng_free(rng);
  }
  PetscFunctionReturn(0);
}

/* The replicate's rows this rank holds (all of them, or its chunks in a group). */
PetscErrorCode MoeDataGenerate(const MoeDataParams *dp, const MoeTruth *truth, PetscInt64 n, PetscInt64 replicate, MoeData **data)
{
  PetscFunctionBegin;
  PetscCall(CreateLocal(dp, n, data));
  PetscCall(FillSample(dp, truth, n, replicate, *data));
  PetscFunctionReturn(0);
}

/* Chunks c0 .. c1 - 1 of the replicate, as a rank of a group holding them draws them (bench/generate.c
   times the last rank's share of a group of any size without the group). */
PetscErrorCode MoeDataGenerateChunks(const MoeDataParams *dp, const MoeTruth *truth, PetscInt64 n, PetscInt64 replicate, PetscInt c0, PetscInt c1, MoeData **data)
{
  PetscFunctionBegin;
  MoeUserCheck(0 <= c0 && c0 < c1 && c1 <= MoeDataChunks(n), "chunks %" PetscInt_FMT "..%" PetscInt_FMT " are not within the %" PetscInt_FMT " chunks of a sample of %" PetscInt64_FMT " rows", c0, c1 - 1, MoeDataChunks(n), n);
  PetscCall(CreateChunks(dp, n, c0, c1, data));
  PetscCall(FillSample(dp, truth, n, replicate, *data));
  PetscFunctionReturn(0);
}

/* n noise-free points (X, f_G*(X)) of a fixed stream; spread: this rank's chunks of them when the
   fits are a group's (as a replicate's rows), else all of them. */
static PetscErrorCode NoiseFreeSample(const MoeDataParams *dp, const MoeTruth *truth, MoeStream stream, PetscInt n, PetscBool spread, MoeData **data)
{
  MoeData *D;

  PetscFunctionBegin;
  if (spread) PetscCall(CreateLocal(dp, n, &D));
  else PetscCall(MoeDataCreate(n, dp->d, &D));
  PetscCall(MoeDataSampleX(dp, stream, n, 0, D));
  PetscCall(MoeModelEvaluateMany(truth->model, truth->theta, D->n, D->X, D->Y));
  *data = D;
  PetscFunctionReturn(0);
}

/* The fixed Monte-Carlo sample of the L2 regression error: eval_n noise-free points.  Every rank
   draws it whole, so it stays on one stream (rows): the same sample in every format. */
PetscErrorCode MoeDataEvaluationSample(const MoeDataParams *dp, const MoeTruth *truth, MoeData **data)
{
  MoeDataParams whole = *dp;

  PetscFunctionBegin;
  whole.streams = MOE_STREAMS_ROWS;
  PetscCall(NoiseFreeSample(&whole, truth, MOE_STREAM_EVAL, dp->eval_n, PETSC_FALSE, data));
  PetscFunctionReturn(0);
}

/* The noise-free sample of the reference fit G-bar: -reference_n points of stream REFERENCE, spread
   over a group as a replicate's rows are (its sums then in the chunks' order, the same for any g). */
PetscErrorCode MoeDataReferenceSample(const MoeDataParams *dp, const MoeTruth *truth, MoeData **data)
{
  PetscFunctionBegin;
  PetscCall(NoiseFreeSample(dp, truth, MOE_STREAM_REFERENCE, dp->reference_n, PETSC_TRUE, data));
  PetscFunctionReturn(0);
}
