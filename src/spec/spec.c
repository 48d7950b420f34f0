/* The experiment spec: read from the options database (YAML through -options_file_yaml, or the
   command line) one section at a time (the files of this folder), validated before any work starts. */
#include <moe/private/specimpl.h>

const char *const MoeInputDists[] = {"uniform", "gaussian", "MoeInputDist", "MOE_X_", NULL};
const char *const MoeInitTypes[]  = {"near", "random", "MoeInitType", "MOE_INIT_", NULL};
const char *const MoeDataStreamsNames[] = {"blocks", "rows", "MoeDataStreams", "MOE_STREAMS_", NULL};
const char *const MoeFitOrders[]        = {"chunks", "rows", "MoeFitOrder", "MOE_FIT_ORDER_", NULL};

static void SetDefaults(MoeSpec *s, PetscBool run)
{
  s->k = 3, s->kstar = 2, s->d = 4; /* with the truth's variances below: a well-posed default */
  s->truth_regime = 2, s->truth_seed = -1, s->truth_draw = -1, s->seed = 1;
  s->truth_max_sd = 0.1, s->truth_active_min = 0.05, s->truth_max_draws = 100;
  s->certify_tol = 3, s->certify_starts = 8;
  s->stability_replicates = 0, s->stability_starts = 4;
  s->truth_sigma = 0.3;
  s->noise = 0.01, s->xlo = -1, s->xhi = 1, s->xsd = 1;
  s->replicates = run ? 3 : 1, s->init_starts = 1, s->init_perturb = -1, s->init_scale = -1;
  s->loss_r = 2, s->eval_n = 10000, s->reference_n = -1;
  s->block = 256, s->lm_lambda = 1e-4, s->lm_down = 0.2, s->lm_up = 1.5;
  s->ftol = -1, s->ftol_window = 5, s->max_norm = 100, s->max_gradient_z = 1, s->hessian_reuse = 1;
  s->group = MPI_COMM_NULL;
  s->truth_beta0_var = -1, s->truth_beta1_var = -1, s->truth_expert_var = -1;
}

/* Read and validate the spec; run: `moerate run` (lists, replicates) or `moerate fit`. */
PetscErrorCode MoeSpecCreate(MPI_Comm comm, PetscOptions opts, PetscBool run, MoeTruthFile *tf, MoeSpec **spec)
{
  MoeSpec         *s;
  MoeSpecReadFlags f = {PETSC_FALSE, PETSC_FALSE, PETSC_FALSE, PETSC_FALSE, "uniform", "near", "regression", "blocks"};

  PetscFunctionBegin;
  PetscCall(MoeGatingRegisterAll());
  PetscCall(MoeExpertRegisterAll());
  PetscCall(MoeLossRegisterAll());
  PetscCall(PetscNew(&s));
  s->opts      = opts;
  s->truthfile = tf;
  SetDefaults(s, run);
  PetscCall(MoeSpecReadModels(comm, s, run, &f));
  PetscCall(MoeSpecReadTruth(comm, s, tf, &f));
  PetscCall(MoeSpecReadData(comm, s, run, &f));
  PetscCall(MoeSpecReadInit(comm, s, &f));
  PetscCall(MoeSpecReadLosses(comm, s));
  PetscCall(MoeSpecReadFit(comm, s, run));
  PetscCall(MoeSpecValidate(s, run, &f));
  PetscCall(MoeSpecBuildCanonicalText(s));
  *spec = s;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecDestroy(MoeSpec **s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  PetscCall(PetscFree((*s)->text));
  for (PetscInt i = 0; i < (*s)->nestimators; i++) PetscCall(MoeEstimatorDestroy(&(*s)->estimator[i]));
  PetscCall(MoeTruthFileDestroy(&(*s)->truthfile));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeTruthFileDestroy(MoeTruthFile **tf)
{
  PetscInt i;

  PetscFunctionBegin;
  if (!*tf) PetscFunctionReturn(0);
  for (i = 0; i < (*tf)->n; i++) {
    PetscCall(PetscFree((*tf)->truths[i].theta));
    PetscCall(PetscFree((*tf)->truths[i].drift));
  }
  PetscCall(PetscFree(*tf));
  PetscFunctionReturn(0);
}

void MoeSpecDataParams(const MoeSpec *s, MoeDataParams *p)
{
  *p = (MoeDataParams){s->d, s->xdist, s->xlo, s->xhi, s->xsd, s->noise, s->seed, s->eval_n, s->reference_n, s->group, s->streams, (PetscBool)(s->fit_order == MOE_FIT_ORDER_CHUNKS)};
}

void MoeSpecScreenParams(const MoeSpec *s, MoeScreenParams *p)
{
  *p = (MoeScreenParams){s->ns[0], s->ns[s->nn - 1], s->noise, s->truth_max_sd, s->truth_active_min};
}

void MoeSpecInitParams(const MoeSpec *s, MoeInitParams *p)
{
  *p = (MoeInitParams){s->init, s->init_perturb, s->init_scale, s->init_starts, s->seed, 0};
}

void MoeSpecFitParams(const MoeSpec *s, MoeFitParams *p)
{
  *p = (MoeFitParams){.block = s->block, .lm_lambda = s->lm_lambda, .lm_down = s->lm_down, .lm_up = s->lm_up, .ftol = s->ftol, .ftol_window = s->ftol_window, .max_norm = s->max_norm, .max_gradient_z = s->max_gradient_z, .noise = s->noise, .hessian_rows = s->hessian_rows, .rows = s->rows, .hessian_reuse = s->hessian_reuse, .hessian_single = s->hessian_single, .tao_prefix = NULL, .em_max_it = 0, .hard_only = PETSC_FALSE};
}
