/* A replicate's data: X ~ mu (uniform on [lo, hi]^d or N(0, sd^2 I)), Y = f_G*(X) + eps,
   eps ~ N(0, nu).  X and eps come from separate streams keyed by (seed, n, replicate). */
#include <moedata.h>
#include <gsl/gsl_randist.h>

PetscErrorCode MoeDataCreate(PetscInt n, PetscInt d, MoeData **data)
{
  MoeData *D;

  PetscFunctionBegin;
  PetscCall(PetscNew(&D));
  D->n = n;
  D->d = d;
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

/* Draw the inputs of D from stream (seed, stream, n, replicate). */
PetscErrorCode MoeDataSampleX(const MoeDataParams *dp, MoeStream stream, PetscInt64 n, PetscInt64 replicate, MoeData *D)
{
  gsl_rng *rng;
  size_t   i, N = (size_t)D->n * D->d;

  PetscFunctionBegin;
  PetscCall(MoeRngCreate(dp->seed, stream, n, replicate, 0, &rng));
  if (dp->xdist == MOE_X_UNIFORM) {
    for (i = 0; i < N; i++) D->X[i] = dp->xlo + (dp->xhi - dp->xlo) * gsl_rng_uniform(rng);
  } else {
    for (i = 0; i < N; i++) D->X[i] = gsl_ran_gaussian_ziggurat(rng, dp->xsd);
  }
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

/* A replicate's sample: X from stream X; Y = f_G*(X) + N(0, noise) for the regression model,
   Y drawn from the mixture for the Gaussian and the contaminated MoE (stream NOISE either way). */
PetscErrorCode MoeDataGenerate(const MoeDataParams *dp, const MoeTruth *truth, PetscInt64 n, PetscInt64 replicate, MoeData **data)
{
  MoeData  *D;
  gsl_rng  *rng;
  PetscInt  i;
  PetscReal sd = PetscSqrtReal(dp->noise);

  PetscFunctionBegin;
  PetscCall(MoeDataCreate((PetscInt)n, dp->d, &D));
  PetscCall(MoeDataSampleX(dp, MOE_STREAM_X, n, replicate, D));
  PetscCall(MoeRngCreate(dp->seed, MOE_STREAM_NOISE, n, replicate, 0, &rng));
  if (truth->model->base) PetscCall(DrawContaminated(truth, rng, D));
  else if (truth->model->ns) PetscCall(DrawGaussianMixture(truth, rng, D));
  else {
    PetscCall(MoeModelEvaluateMany(truth->model, truth->theta, D->n, D->X, D->Y));
    if (sd > 0)
      for (i = 0; i < D->n; i++) D->Y[i] += gsl_ran_gaussian_ziggurat(rng, sd);
  }
  gsl_rng_free(rng);
  *data = D;
  PetscFunctionReturn(0);
}

/* n noise-free points (X, f_G*(X)) of a fixed stream. */
static PetscErrorCode NoiseFreeSample(const MoeDataParams *dp, const MoeTruth *truth, MoeStream stream, PetscInt n, MoeData **data)
{
  MoeData *D;

  PetscFunctionBegin;
  PetscCall(MoeDataCreate(n, dp->d, &D));
  PetscCall(MoeDataSampleX(dp, stream, n, 0, D));
  PetscCall(MoeModelEvaluateMany(truth->model, truth->theta, D->n, D->X, D->Y));
  *data = D;
  PetscFunctionReturn(0);
}

/* The fixed Monte-Carlo sample of the L2 regression error: eval_n noise-free points. */
PetscErrorCode MoeDataEvaluationSample(const MoeDataParams *dp, const MoeTruth *truth, MoeData **data)
{
  PetscFunctionBegin;
  PetscCall(NoiseFreeSample(dp, truth, MOE_STREAM_EVAL, dp->eval_n, data));
  PetscFunctionReturn(0);
}

/* The noise-free sample of the reference fit G-bar: -reference_n points of stream REFERENCE. */
PetscErrorCode MoeDataReferenceSample(const MoeDataParams *dp, const MoeTruth *truth, MoeData **data)
{
  PetscFunctionBegin;
  PetscCall(NoiseFreeSample(dp, truth, MOE_STREAM_REFERENCE, dp->reference_n, data));
  PetscFunctionReturn(0);
}
