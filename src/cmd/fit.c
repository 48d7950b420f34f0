/* `moerate fit`: one replicate end to end — generate, fit, losses, summary, HDF5 file. */
#include <moecertify.h>
#include <unistd.h>
#include <moeloss.h>
#include <moestore.h>
#include <moecmd.h>

typedef struct {
  MoeSpec     *spec;
  MoeTruth    *truth;
  MoeModel     model;
  MoeData     *data, *eval;
  PetscInt     replicate;
  PetscReal   *theta0, *theta, *reference, *losses;
  MoeFitResult   fit, ref;
  MoeCertificate cert;
  PetscBool      ref_identified;
  PetscReal      ref_sd;
  char           ref_why[512];
} FitRun;

/* The replicate file, written to a temporary name and renamed over FILE only once
   complete: an existing FILE is never left half-written. */
static PetscErrorCode WriteFitFile(FitRun *r, const char path[], const char command[])
{
  char    tmp[PETSC_MAX_PATH_LEN + 32];
  hid_t   file, g;
  hsize_t dims[2];
  MoeModel m = r->model;
  PetscInt l;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()));
  file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  MoeUserCheck(file >= 0, "-output %s: cannot create the file (does the directory exist and is it writable?)", path);
  PetscCall(MoeH5AttrWriteString(file, "kind", "moerate fit: one replicate"));
  PetscCall(MoeH5WriteProvenance(file, PETSC_COMM_SELF, command));
  PetscCall(MoeH5AttrWriteString(file, "spec", r->spec->text));
  PetscCall(MoeH5AttrWriteString(file, "spec_hash", r->spec->hash));
  PetscCall(MoeH5AttrWriteInt(file, "n", r->data->n));
  PetscCall(MoeH5AttrWriteInt(file, "replicate", r->replicate));
  PetscCall(MoeH5AttrWriteInt(file, "seed", r->spec->seed));
  PetscCall(MoeH5AttrWriteReal(file, "noise", r->spec->noise));

  PetscCall(MoeH5CreateGroup(file, "data", &g));
  dims[0] = (hsize_t)r->data->n;
  dims[1] = (hsize_t)r->data->d;
  PetscCall(MoeH5WriteReals(g, "X", 2, dims, r->data->X, "input units", "inputs X (n x d)"));
  PetscCall(MoeH5WriteReals(g, "Y", 1, dims, r->data->Y, "response units", "responses Y = f_G*(X) + noise"));
  MoeH5Call(H5Gclose(g));

  PetscCall(MoeStoreWriteTruth(file, r->truth));

  PetscCall(MoeH5CreateGroup(file, "model", &g));
  PetscCall(MoeStoreWriteModelAttributes(g, m));
  PetscCall(MoeH5AttrWriteInt(g, "k", m->k));
  {
    PetscReal *pinned;
    PetscCall(PetscMalloc1(m->p, &pinned));
    for (l = 0; l < m->p; l++) pinned[l] = m->pinned[l] ? 1 : 0;
    dims[0] = (hsize_t)m->p;
    PetscCall(MoeH5WriteReals(g, "pinned", 1, dims, pinned, "1", "1 where the parameter is pinned (not fitted)"));
    PetscCall(PetscFree(pinned));
  }
  MoeH5Call(H5Gclose(g));

  dims[0] = (hsize_t)m->p;
  PetscCall(MoeH5CreateGroup(file, "init", &g));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, r->theta0, "parameter units", "initial parameters of the kept start"));
  MoeH5Call(H5Gclose(g));

  PetscCall(MoeH5CreateGroup(file, "fit", &g));
  PetscCall(MoeH5WriteReals(g, "theta", 1, dims, r->theta, "parameter units", "fitted parameters"));
  PetscCall(MoeH5AttrWriteString(g, "status", MoeFitStatuses[r->fit.status]));
  PetscCall(MoeH5AttrWriteInt(g, "reason", r->fit.reason));
  PetscCall(MoeH5AttrWriteString(g, "reason_name", MoeFitReasonString(r->fit.reason)));
  PetscCall(MoeH5AttrWriteInt(g, "iterations", r->fit.iterations));
  PetscCall(MoeH5AttrWriteInt(g, "start", r->fit.start));
  PetscCall(MoeH5AttrWriteReal(g, "objective", r->fit.objective));
  PetscCall(MoeH5AttrWriteString(g, "objective_meaning", "(1/2n) sum_r (Y_r - f(X_r))^2"));
  PetscCall(MoeH5AttrWriteReal(g, "gradient_norm", r->fit.gnorm));
  PetscCall(MoeH5AttrWriteReal(g, "wall_time", r->fit.time));
  PetscCall(MoeH5AttrWriteString(g, "message", r->fit.message));
  PetscCall(MoeH5AttrWriteReal(g, "gradient_z", r->fit.gradient_z));
  PetscCall(MoeH5AttrWriteReal(g, "ref_objective", r->cert.ref_objective));
  PetscCall(MoeH5AttrWriteReal(g, "gap", r->cert.gap));
  PetscCall(MoeH5AttrWriteInt(g, "certified", r->cert.certified));
  PetscCall(MoeH5AttrWriteInt(g, "starts_used", r->cert.starts_used));
  MoeH5Call(H5Gclose(g));

  if (r->reference) {
    PetscCall(MoeH5CreateGroup(file, "reference", &g));
    PetscCall(MoeH5WriteReals(g, "theta", 1, dims, r->reference, "parameter units", "reference G-bar: fit to noise-free data on -reference_n points"));
    PetscCall(MoeH5AttrWriteInt(g, "reference_n", r->spec->reference_n));
    PetscCall(MoeH5AttrWriteString(g, "status", MoeFitStatuses[r->ref.status]));
    PetscCall(MoeH5AttrWriteReal(g, "objective", r->ref.objective));
    PetscCall(MoeH5AttrWriteInt(g, "identified", r->ref_identified));
    PetscCall(MoeH5AttrWriteReal(g, "weak_sd", r->ref_sd));
    PetscCall(MoeH5AttrWriteString(g, "why_not_identified", r->ref_why));
    MoeH5Call(H5Gclose(g));
  }

  PetscCall(MoeH5CreateGroup(file, "losses", &g));
  for (l = 0; l < r->spec->nlosses; l++) PetscCall(MoeH5AttrWriteReal(g, r->spec->losses[l], r->losses[l]));
  MoeH5Call(H5Gclose(g));
  MoeH5Call(H5Fclose(file));
  MoeUserCheck(rename(tmp, path) == 0, "-output %s: cannot move the finished file into place", path);
  PetscFunctionReturn(0);
}

static PetscErrorCode PrintSummary(FitRun *r)
{
  char      desc[256], tdesc[256];
  PetscInt  l;
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(MoeModelDescribe(r->model, desc, sizeof(desc)));
  PetscCall(MoeModelDescribe(r->truth->model, tdesc, sizeof(tdesc)));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "model : %s\ntruth : %s; %s\ndata  : n=%" PetscInt_FMT ", replicate %" PetscInt_FMT ", seed %" PetscInt_FMT ", noise variance %g\n", desc, tdesc, r->truth->source, r->data->n, r->replicate, r->spec->seed, (double)r->spec->noise));
  PetscCall(MoePrintFisherLine(PETSC_COMM_SELF, r->spec, r->truth));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "fit   : %s (%s) after %" PetscInt_FMT " iterations, objective %.10e, |gradient| %.3e, %.3f s%s%s\n", MoeFitStatuses[r->fit.status], MoeFitReasonString(r->fit.reason), r->fit.iterations, (double)r->fit.objective, (double)r->fit.gnorm, (double)r->fit.time, r->fit.message[0] ? ": " : "", r->fit.message));
  if (r->reference) PetscCall(PetscPrintf(PETSC_COMM_SELF, "G-bar : %s (%s), objective %.3e on %" PetscInt_FMT " noise-free points; %s%s\n", MoeFitStatuses[r->ref.status], MoeFitReasonString(r->ref.reason), (double)r->ref.objective, r->spec->reference_n, r->ref_identified ? "identified" : "not identified: ", r->ref_why));
  PetscCall(MoeModelSameFamilies(r->model, r->truth->model, &same));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "certify: %s: gap 2n/noise (f_fit - f_ref) = %.3g against the %s (objective %.10e), -certify_tol %g; %" PetscInt_FMT " start(s)\n", r->cert.certified ? "certified" : "NOT certified", (double)r->cert.gap, same ? "truth embedded in k atoms" : "reference G-bar", (double)r->cert.ref_objective, (double)r->spec->certify_tol, r->cert.starts_used));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "losses:"));
  for (l = 0; l < r->spec->nlosses; l++) PetscCall(PetscPrintf(PETSC_COMM_SELF, " %s %.6e", r->spec->losses[l], (double)r->losses[l]));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "\n"));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeCommandFit(MPI_Comm comm, const char command[])
{
  FitRun      r;
  PetscMPIInt size;
  char        output[PETSC_MAX_PATH_LEN] = "";
  PetscBool   inject = PETSC_FALSE, help, need;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&r, sizeof(r)));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  MoeUserCheck(size == 1, "`moerate fit` runs on one rank (got %d): use `moerate run` to spread a grid over MPI ranks", size);
  PetscCall(MoeSpecCreate(comm, NULL, PETSC_FALSE, &r.spec));
  PetscOptionsBegin(comm, NULL, "moerate fit: replicate and output", "moerate");
  PetscCall(PetscOptionsInt("-replicate", "replicate index (with -seed and -n it fixes the data)", NULL, r.replicate, &r.replicate, NULL));
  PetscCall(PetscOptionsString("-output", "write the replicate (data, truth, start, fit, losses) to this HDF5 file", NULL, output, output, sizeof(output), NULL));
  PetscCall(PetscOptionsBool("-fit_inject_nan", "testing: make every residual NaN so that the fit fails", NULL, inject, &inject, NULL));
  PetscOptionsEnd();
  MoeUserCheck(r.replicate >= 0, "-replicate %" PetscInt_FMT " must be >= 0", r.replicate);
  PetscCall(MoeModelCreate(r.spec->gatings[0], r.spec->experts[0], r.spec->k, r.spec->d, NULL, NULL, &r.model));
  PetscCall(MoeFitCheckOptions(r.spec, r.model)); /* also lists the TAO options under -help */
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MoeModelDestroy(&r.model));
    PetscCall(MoeSpecDestroy(&r.spec));
    PetscFunctionReturn(0);
  }
  if (output[0]) PetscCall(MoeCheckOutputPath("-output", output));
  PetscCall(MoeCheckUnusedOptions(comm));
  PetscCall(MoeTruthSelect(r.spec));
  PetscCall(MoeTruthCreate(r.spec, r.spec->experts[0], &r.truth));
  PetscCall(MoeTruthScreen(r.spec, r.truth));

  PetscCall(MoeDataGenerate(r.spec, r.truth, r.spec->ns[0], r.replicate, &r.data));
  PetscCall(MoeDataEvaluationSample(r.spec, r.truth, &r.eval));
  PetscCall(PetscMalloc3(r.model->p, &r.theta0, r.model->p, &r.theta, r.spec->nlosses, &r.losses));
  PetscCall(MoeSpecNeedsReference(r.spec, r.spec->gatings[0], r.spec->experts[0], &need));
  if (need) { /* G-bar first: a near start of a fit of other families than the truth's is near G-bar */
    PetscCall(PetscMalloc1(r.model->p, &r.reference));
    PetscCall(MoeReferenceCompute(r.spec, r.model, r.truth, r.reference, &r.ref));
    PetscCall(MoeCertifyReference(r.spec, r.model, r.truth, r.reference, r.ref.objective, &r.ref_sd, &r.ref_identified, r.ref_why, sizeof(r.ref_why)));
  }
  PetscCall(MoeCertifiedFit(r.spec, r.model, r.truth, r.reference, r.data, r.spec->ns[0], r.replicate, inject, r.theta0, r.theta, &r.fit, &r.cert));
  PetscCall(MoeLossComputeAll(r.spec, r.model, r.spec->experts[0], r.theta, r.truth, r.reference, r.eval, r.losses));
  PetscCall(PrintSummary(&r));
  if (output[0]) {
    PetscCall(WriteFitFile(&r, output, command));
    PetscCall(PetscPrintf(comm, "wrote %s\n", output));
  }

  PetscCall(PetscFree3(r.theta0, r.theta, r.losses));
  PetscCall(PetscFree(r.reference));
  PetscCall(MoeDataDestroy(&r.data));
  PetscCall(MoeDataDestroy(&r.eval));
  PetscCall(MoeModelDestroy(&r.model));
  PetscCall(MoeTruthDestroy(&r.truth));
  PetscCall(MoeSpecDestroy(&r.spec));
  PetscFunctionReturn(0);
}
