/* HDF5 descriptions of models and truths, shared by fit and run files. */
#include <moestore.h>
#include <moeestimator.h>

static const char *layout_doc = "theta = [atom_0 | ... | atom_{k-1} | globals]; atom_i = [beta1_i (d) | beta0_i | eta_i]; eta_i = [a_i (d) | b_i] (FFN, linear), [a_i (d) | c_i | b_i] (srelu, c_i ReLU(a_i^T x + b_i)) or [b_i] (constant); globals: dts with fitted tau: [tau]; hsoftmax: [alpha1_g (d) | alpha0_g] per group";

/* Attributes describing a model's families and parameter layout on obj. */
PetscErrorCode MoeStoreWriteModelAttributes(hid_t obj, MoeModel m)
{
  char gopts[256];

  PetscFunctionBegin;
  PetscCall(MoeModelGatingOptions(m, gopts, sizeof(gopts)));
  PetscCall(MoeH5AttrWriteString(obj, "gating", m->gfamily->name));
  PetscCall(MoeH5AttrWriteString(obj, "expert", m->efamily->name));
  PetscCall(MoeH5AttrWriteString(obj, "gating_options", gopts));
  if (m->ns) PetscCall(MoeH5AttrWriteString(obj, "model", MoeModelTypes[m->type])); /* regression files keep their layout */
  if (m->base) { /* the base's d slopes at up to 25 characters each: sized by d, any d */
    size_t len = 128 + 26 * (size_t)m->d;
    char  *mopts;
    PetscCall(PetscMalloc1(len, &mopts));
    PetscCall(MoeModelBaseOptions(m, mopts, len));
    PetscCall(MoeH5AttrWriteString(obj, "model_options", mopts));
    PetscCall(PetscFree(mopts));
  }
  PetscCall(MoeH5AttrWriteInt(obj, "d", m->d));
  PetscCall(MoeH5AttrWriteInt(obj, "stride", m->stride));
  PetscCall(MoeH5AttrWriteInt(obj, "p", m->p));
  PetscCall(MoeH5AttrWriteInt(obj, "pfree", m->pfree));
  PetscCall(MoeH5AttrWriteString(obj, "layout", layout_doc));
  PetscFunctionReturn(0);
}

/* A fitted model's group: its attributes, k and which parameters are pinned. */
PetscErrorCode MoeStoreWriteFittedModel(hid_t g, MoeModel m)
{
  PetscReal *pinned;
  hsize_t    dims[1] = {(hsize_t)m->p};
  PetscInt   i;

  PetscFunctionBegin;
  PetscCall(MoeStoreWriteModelAttributes(g, m));
  PetscCall(MoeH5AttrWriteInt(g, "k", m->k));
  PetscCall(PetscMalloc1(m->p, &pinned));
  for (i = 0; i < m->p; i++) pinned[i] = m->pinned[i] ? 1 : 0;
  PetscCall(MoeH5WriteReals(g, "pinned", 1, dims, pinned, "1", "1 where the parameter is pinned (not fitted)"));
  PetscCall(PetscFree(pinned));
  PetscFunctionReturn(0);
}

/* /truth/<expert>: the truth's families, k*, d, source and theta (full layout). */
/* A truth that moves with n, screened at every n: the sizes, each n's truth and its screening sd. */
static PetscErrorCode WriteTruthByN(hid_t g, const MoeTruth *t)
{
  hsize_t    dims[2] = {(hsize_t)t->nsizes, (hsize_t)t->model->p};
  PetscReal *n;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(t->nsizes, &n));
  for (PetscInt i = 0; i < t->nsizes; i++) n[i] = (PetscReal)t->sizes[i];
  PetscCall(MoeH5WriteReals(g, "n_by_n", 1, dims, n, "1", "the sample sizes of the grid, the rows of theta_by_n and weakest_sd_by_n"));
  PetscCall(MoeH5WriteReals(g, "theta_by_n", 2, dims, t->theta_by_n, "parameter units", "the truth of each sample size: theta + n^-drift_rate drift"));
  for (PetscInt i = 0; i < t->nsizes; i++) n[i] = t->sd_by_n[i] >= PETSC_INFINITY ? (PetscReal)INFINITY : t->sd_by_n[i]; /* IEEE inf for readers */
  PetscCall(MoeH5WriteReals(g, "weakest_sd_by_n", 1, dims, n, "parameter units", "the screening at each n against that n's truth: an estimate's sd along the weakest direction of its Fisher information at that n"));
  PetscCall(PetscFree(n));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeStoreWriteTruth(hid_t file, const MoeTruth *t)
{
  hid_t   top, g;
  hsize_t dims[1] = {(hsize_t)t->model->p};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "truth", &top));
  PetscCall(MoeH5CreateGroup(top, t->model->efamily->name, &g));
  PetscCall(MoeStoreWriteModelAttributes(g, t->model));
  PetscCall(MoeH5AttrWriteInt(g, "kstar", t->model->k));
  PetscCall(MoeH5AttrWriteString(g, "source", t->source));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, t->theta, "parameter units", "true parameters theta* (layout: see the layout attribute)"));
  if (t->drift) {
    PetscCall(MoeH5WriteReals(g, "drift", 1, dims, t->drift, "parameter units", "a truth that moves with n: the truth of a task of size n is theta + n^-drift_rate drift (its record's truth_shift is n^-drift_rate)"));
    PetscCall(MoeH5AttrWriteReal(g, "drift_rate", t->drift_rate));
  }
  if (t->sd_by_n) PetscCall(WriteTruthByN(g, t));
  PetscCall(MoeH5AttrWriteInt(g, "draw", t->draw));
  PetscCall(MoeH5AttrWriteInt(g, "draws_rejected", t->rejected));
  if (t->fisher) {
    PetscCall(MoeH5AttrWriteReal(g, "weakest_sd", t->sd >= PETSC_INFINITY ? (PetscReal)INFINITY : t->sd)); /* IEEE inf for readers */
    PetscCall(MoeH5AttrWriteInt(g, "well_posed", t->wellposed));
    PetscCall(MoeH5AttrWriteString(g, "screening", t->wellposed ? "well posed" : t->why));
    dims[0] = (hsize_t)t->model->pfree;
    PetscCall(MoeH5WriteReals(g, "fisher_eigenvalues", 1, dims, t->fisher, "1/parameter units^2",
                              "eigenvalues (ascending) of the Fisher information J^T J / n of the truth's free parameters on the evaluation sample, per unit noise variance: along the eigenvector of eigenvalue lambda the least-squares estimate has standard deviation about sqrt(noise / (n lambda))"));
  }
  MoeH5Call(H5Gclose(g));
  MoeH5Call(H5Gclose(top));
  PetscFunctionReturn(0);
}

/* /families: the traits of the families an experiment uses, from their registries, for the
   analysis (which theory applies to which expert, what a loss is measured against). */
PetscErrorCode MoeStoreWriteFamilies(hid_t file, const MoeSpec *s)
{
  hid_t    top, kind, g;
  PetscInt i;
  char     which[256];

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "families", &top));
  PetscCall(MoeH5CreateGroup(top, "gating", &kind));
  for (i = 0; i <= s->ngatings; i++) {
    const MoeGatingFamily *f = i < s->ngatings ? s->gating_families[i] : s->truth_gating_family;
    PetscBool              done;
    PetscCall(MoeH5LinkExists(kind, f->name, &done));
    if (done) continue;
    PetscCall(MoeH5CreateGroup(kind, f->name, &g));
    PetscCall(MoeH5AttrWriteString(g, "mass", MoeMasses[f->mass]));
    PetscCall(MoeH5AttrWriteInt(g, "sums_to_one", f->sums_to_one));
    PetscCall(MoeH5AttrWriteString(g, "losses", f->losses ? f->losses : ""));
    PetscCall(MoeH5AttrWriteString(g, "misfit_losses", f->misfit_losses ? f->misfit_losses : ""));
    PetscCall(MoeH5AttrWriteString(g, "meaning", f->meaning));
    MoeH5Call(H5Gclose(g));
  }
  MoeH5Call(H5Gclose(kind));
  PetscCall(MoeH5CreateGroup(top, "expert", &kind));
  for (i = 0; i <= s->nexperts; i++) {
    const MoeExpertFamily *f = i < s->nexperts ? s->expert_families[i] : s->truth_expert_family;
    PetscBool              done;
    if (!f) continue;
    PetscCall(MoeH5LinkExists(kind, f->name, &done));
    if (done) continue;
    PetscCall(MoeH5CreateGroup(kind, f->name, &g));
    PetscCall(MoeH5AttrWriteString(g, "identifiability", MoeIdentifiabilities[f->identifiability]));
    PetscCall(MoeH5AttrWriteInt(g, "hinge", f->hinge));
    PetscCall(MoeH5AttrWriteString(g, "meaning", f->meaning));
    MoeH5Call(H5Gclose(g));
  }
  MoeH5Call(H5Gclose(kind));
  PetscCall(MoeH5CreateGroup(top, "estimator", &kind));
  for (i = 0; i < s->nestimators; i++) {
    const MoeEstimatorFamily *f = MoeEstimatorGetFamily(s->estimator[i]);
    PetscCall(MoeH5CreateGroup(kind, f->name, &g));
    PetscCall(MoeH5AttrWriteInt(g, "theory", f->theory));
    PetscCall(MoeH5AttrWriteInt(g, "certificate_suffices", f->certificate_suffices));
    PetscCall(MoeH5AttrWriteString(g, "objective", f->objective));
    PetscCall(MoeH5AttrWriteString(g, "meaning", f->meaning));
    MoeH5Call(H5Gclose(g));
  }
  MoeH5Call(H5Gclose(kind));
  PetscCall(MoeH5CreateGroup(top, "loss", &kind));
  for (i = 0; i < s->nlosses; i++) {
    const MoeLossType *t;
    PetscCall(MoeLossGet(s->losses[i], &t));
    PetscCall(MoeH5CreateGroup(kind, t->name, &g));
    PetscCall(MoeH5AttrWriteString(g, "target", MoeLossTargets[t->target]));
    PetscCall(MoeH5AttrWriteInt(g, "voronoi", t->voronoi));
    PetscCall(MoeH5AttrWriteInt(g, "atoms", t->atoms));
    PetscCall(MoeLossGatingFamilies(t->name, which, sizeof(which)));
    PetscCall(MoeH5AttrWriteString(g, "gatings", which));
    PetscCall(MoeH5AttrWriteString(g, "meaning", t->meaning));
    MoeH5Call(H5Gclose(g));
  }
  MoeH5Call(H5Gclose(kind));
  MoeH5Call(H5Gclose(top));
  PetscFunctionReturn(0);
}
