/* HDF5 descriptions of models and truths, shared by fit and run files. */
#include <moestore.h>
#include <moedata.h>

static const char *layout_doc = "theta = [atom_0 | ... | atom_{k-1} | globals]; atom_i = [beta1_i (d) | beta0_i | eta_i]; eta_i = [a_i (d) | b_i] (FFN, linear) or [b_i] (constant); globals: dts with fitted tau: [tau]; hsoftmax: [alpha1_g (d) | alpha0_g] per group";

PetscErrorCode MoeGatingOptionsString(MoeGating g, char *buf, size_t len)
{
  PetscFunctionBegin;
  buf[0] = 0;
  if (g->ops.describe) PetscCall((*g->ops.describe)(g, buf, len));
  PetscFunctionReturn(0);
}

/* Attributes describing a model's families and parameter layout on obj. */
PetscErrorCode MoeStoreWriteModelAttributes(hid_t obj, MoeModel m)
{
  char gopts[256];

  PetscFunctionBegin;
  PetscCall(MoeGatingOptionsString(m->gating, gopts, sizeof(gopts)));
  PetscCall(MoeH5AttrWriteString(obj, "gating", m->gating->type));
  PetscCall(MoeH5AttrWriteString(obj, "expert", m->expert->type));
  PetscCall(MoeH5AttrWriteString(obj, "gating_options", gopts));
  PetscCall(MoeH5AttrWriteInt(obj, "d", m->d));
  PetscCall(MoeH5AttrWriteInt(obj, "stride", m->stride));
  PetscCall(MoeH5AttrWriteInt(obj, "p", m->p));
  PetscCall(MoeH5AttrWriteInt(obj, "pfree", m->pfree));
  PetscCall(MoeH5AttrWriteString(obj, "layout", layout_doc));
  PetscFunctionReturn(0);
}

/* /truth/<expert>: the truth's families, k*, d, source and theta (full layout). */
PetscErrorCode MoeStoreWriteTruth(hid_t file, const MoeTruth *t)
{
  hid_t   top, g;
  hsize_t dims[1] = {(hsize_t)t->model->p};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "truth", &top));
  PetscCall(MoeH5CreateGroup(top, t->model->expert->type, &g));
  PetscCall(MoeStoreWriteModelAttributes(g, t->model));
  PetscCall(MoeH5AttrWriteInt(g, "kstar", t->model->k));
  PetscCall(MoeH5AttrWriteString(g, "source", t->source));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, t->theta, "parameter units", "true parameters theta* (layout: see the layout attribute)"));
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
