/* The file of `moerate fit -output`: one replicate (its data, truth, start, fit, G-bar and
   losses), written to a temporary name and renamed over the file only once complete. */
#include <moestore.h>
#include <moeestimator.h>
#include <unistd.h>
#include <errno.h>

/* /fit: the fitted parameters, how the fit ended and its certificate. */
static PetscErrorCode WriteFit(hid_t file, const MoeReplicateFile *r)
{
  hid_t   g;
  hsize_t dims[1] = {(hsize_t)r->model->p};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "fit", &g));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, r->theta, "parameter units", "fitted parameters"));
  PetscCall(MoeH5AttrWriteString(g, "status", MoeFitStatuses[r->fit->status]));
  PetscCall(MoeH5AttrWriteInt(g, "reason", r->fit->reason));
  PetscCall(MoeH5AttrWriteString(g, "reason_name", r->reason_name));
  PetscCall(MoeH5AttrWriteInt(g, "iterations", r->fit->iterations));
  PetscCall(MoeH5AttrWriteInt(g, "start", r->fit->start));
  PetscCall(MoeH5AttrWriteReal(g, "objective", r->fit->objective));
  PetscCall(MoeH5AttrWriteString(g, "estimator", MoeEstimatorGetFamily(r->spec->estimator[0])->name));
  PetscCall(MoeH5AttrWriteString(g, "objective_meaning", MoeEstimatorGetFamily(r->spec->estimator[0])->objective));
  PetscCall(MoeH5AttrWriteReal(g, "gradient_norm", r->fit->gnorm));
  PetscCall(MoeH5AttrWriteReal(g, "wall_time", r->fit->time));
  PetscCall(MoeH5AttrWriteString(g, "message", r->fit->message));
  PetscCall(MoeH5AttrWriteReal(g, "gradient_z", r->fit->gradient_z));
  PetscCall(MoeH5AttrWriteReal(g, "ref_objective", r->cert->ref_objective));
  PetscCall(MoeH5AttrWriteReal(g, "gap", r->cert->gap));
  PetscCall(MoeH5AttrWriteInt(g, "certified", r->cert->certified));
  PetscCall(MoeH5AttrWriteInt(g, "starts_used", r->cert->starts_used));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* /reference: G-bar, when the fit needs it. */
static PetscErrorCode WriteReference(hid_t file, const MoeReplicateFile *r)
{
  hid_t   g;
  hsize_t dims[1] = {(hsize_t)r->model->p};

  PetscFunctionBegin;
  if (!r->gbar) PetscFunctionReturn(0);
  PetscCall(MoeH5CreateGroup(file, "reference", &g));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, r->gbar, "parameter units", "reference G-bar: fit to noise-free data on -reference_n points"));
  PetscCall(MoeH5AttrWriteInt(g, "reference_n", r->spec->reference_n));
  PetscCall(MoeH5AttrWriteString(g, "status", MoeFitStatuses[r->gbar_fit->status]));
  PetscCall(MoeH5AttrWriteReal(g, "objective", r->gbar_fit->objective));
  PetscCall(MoeH5AttrWriteInt(g, "identified", r->gbar_identified));
  PetscCall(MoeH5AttrWriteReal(g, "weak_sd", r->gbar_sd));
  PetscCall(MoeH5AttrWriteString(g, "why_not_identified", r->gbar_why));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* /data, /truth, /families, /model and /init. */
static PetscErrorCode WriteInputs(hid_t file, const MoeReplicateFile *r)
{
  hid_t   g;
  hsize_t dims[2] = {(hsize_t)r->data->n, (hsize_t)r->data->d};

  PetscFunctionBegin;
  if (r->data->n == r->data->nglobal) { /* a sample spread over a group stays there: no rank holds it all */
    PetscCall(MoeH5CreateGroup(file, "data", &g));
    PetscCall(MoeH5WriteReals(g, "X", 2, dims, r->data->X, "input units", "inputs X (n x d)"));
    PetscCall(MoeH5WriteReals(g, "Y", 1, dims, r->data->Y, "response units", "responses Y = f_G*(X) + noise"));
    MoeH5Call(H5Gclose(g));
  }
  PetscCall(MoeStoreWriteTruth(file, r->truth));
  PetscCall(MoeStoreWriteFamilies(file, r->spec));
  PetscCall(MoeH5CreateGroup(file, "model", &g));
  PetscCall(MoeStoreWriteFittedModel(g, r->model));
  MoeH5Call(H5Gclose(g));
  dims[0] = (hsize_t)r->model->p;
  PetscCall(MoeH5CreateGroup(file, "init", &g));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, r->theta0, "parameter units", "initial parameters of the kept start"));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

typedef struct {
  const MoeReplicateFile *r;
  const char             *command;
} ReplicateWrite;

/* Everything the file holds (layout: docs/FORMAT.md). */
static PetscErrorCode WriteReplicate(hid_t file, void *ctx)
{
  const ReplicateWrite   *w = (const ReplicateWrite *)ctx;
  const MoeReplicateFile *r = w->r;
  hid_t                   g;

  PetscFunctionBegin;
  PetscCall(MoeH5AttrWriteString(file, "kind", "moerate fit: one replicate"));
  PetscCall(MoeH5WriteProvenance(file, PETSC_COMM_SELF, w->command));
  PetscCall(MoeH5AttrWriteString(file, "spec", r->spec->text));
  PetscCall(MoeH5AttrWriteString(file, "spec_hash", r->spec->hash));
  PetscCall(MoeH5AttrWriteInt(file, "n", (PetscInt)r->data->nglobal));
  PetscCall(MoeH5AttrWriteInt(file, "replicate", r->replicate));
  PetscCall(MoeH5AttrWriteInt(file, "seed", r->spec->seed));
  PetscCall(MoeH5AttrWriteReal(file, "noise", r->spec->noise));
  PetscCall(WriteInputs(file, r));
  PetscCall(WriteFit(file, r));
  PetscCall(WriteReference(file, r));
  PetscCall(MoeH5CreateGroup(file, "losses", &g));
  for (PetscInt l = 0; l < r->spec->nlosses; l++) PetscCall(MoeH5AttrWriteReal(g, r->spec->losses[l], r->losses[l]));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* The replicate file, written to a temporary name and renamed over FILE only once
   complete: an existing FILE is never left half-written.  A write that fails (a full disk)
   closes what it opened and removes the temporary file. */
PetscErrorCode MoeStoreWriteReplicate(const MoeReplicateFile *r, const char path[], const char command[])
{
  char           tmp[PETSC_MAX_PATH_LEN + 32], why[256];
  PetscBool      ok;
  ReplicateWrite w = {r, command};

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()));
  PetscCall(MoeH5WriteFile(tmp, H5P_DEFAULT, WriteReplicate, &w, why, sizeof(why), &ok));
  if (!ok) MoeIOError("-output %s: cannot write the replicate to %s (%s): free space on its filesystem (or make the directory writable), then run again; %s was not replaced", path, tmp, why, path);
  if (rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    MoeIOError("-output %s: cannot move the finished file %s into place (%s); %s was not replaced", path, tmp, strerror(e), path);
  }
  PetscFunctionReturn(0);
}
