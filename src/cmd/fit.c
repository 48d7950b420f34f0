/* `moerate fit`: one replicate end to end (the task room's pipeline), its summary and its file. */
#include <moetask.h>
#include <moestore.h>
#include <moecmd.h>

typedef struct {
  MoeSpec           *spec;
  MoeTruth          *truth;
  MoeModel           model;
  MoeData           *eval;
  PetscInt           replicate, restart;
  PetscReal         *reference; /* G-bar, when the fit needs it */
  MoeReplicateResult rep;
  MoeReferenceResult ref;
} FitRun;

static PetscErrorCode PrintSummary(FitRun *r)
{
  char      desc[256], tdesc[256];
  PetscInt  l;
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(MoeModelDescribe(r->model, desc, sizeof(desc)));
  PetscCall(MoeModelDescribe(r->truth->model, tdesc, sizeof(tdesc)));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "model : %s\ntruth : %s; %s\n", desc, tdesc, r->truth->source));
  if (r->truth->drift) PetscCall(PetscPrintf(PETSC_COMM_SELF, "truth : moves with n: theta + n^-%g drift, at this n shifted by %.6g drift\n", (double)r->truth->drift_rate, (double)r->rep.truth_shift));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "data  : n=%" PetscInt64_FMT ", replicate %" PetscInt_FMT ", seed %" PetscInt_FMT ", ", MoeDataSize(r->rep.data), r->replicate, r->spec->seed));
  if (!r->model->ns) PetscCall(PetscPrintf(PETSC_COMM_SELF, "noise variance %g\n", (double)r->spec->noise));
  else if (r->spec->truthfile) PetscCall(PetscPrintf(PETSC_COMM_SELF, "Y drawn from the %s MoE\n", MoeModelTypes[r->model->type]));
  else PetscCall(PetscPrintf(PETSC_COMM_SELF, "Y drawn from the %s MoE; drawn experts' sigma %g\n", MoeModelTypes[r->model->type], (double)r->spec->truth_sigma));
  PetscCall(MoePrintFisherLine(PETSC_COMM_SELF, r->spec, r->truth));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "fit   : %s (%s) by %s after %" PetscInt_FMT " iterations, objective %.10e, |gradient| %.3e, %.3f s%s%s\n", MoeFitStatuses[r->rep.fit.status], MoeFitReasonString(r->rep.fit.reason), r->spec->estimators[0], r->rep.fit.iterations, (double)r->rep.fit.objective, (double)r->rep.fit.gnorm, (double)r->rep.fit.time, r->rep.fit.message[0] ? ": " : "", r->rep.fit.message));
  if (r->reference) PetscCall(PetscPrintf(PETSC_COMM_SELF, "G-bar : %s (%s), objective %.3e on %" PetscInt_FMT " noise-free points; %s%s\n", MoeFitStatuses[r->ref.fit.status], MoeFitReasonString(r->ref.fit.reason), (double)r->ref.fit.objective, r->spec->reference_n, r->ref.identified ? "identified" : "not identified: ", r->ref.why));
  PetscCall(MoeModelSameFamilies(r->model, r->truth->model, &same));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "certify: %s: gap %s = %.3g against the %s (objective %.10e), -certify_tol %g; %" PetscInt_FMT " start(s)\n", r->rep.cert.certified ? "certified" : "NOT certified", r->model->ns ? "2n (f_fit - f_ref), f = -mean log-likelihood," : "2n/noise (f_fit - f_ref)", (double)r->rep.cert.gap, same ? "truth embedded in k atoms" : "reference G-bar", (double)r->rep.cert.ref_objective, (double)r->spec->certify_tol, r->rep.cert.starts_used));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "losses:"));
  for (l = 0; l < r->spec->nlosses; l++) PetscCall(PetscPrintf(PETSC_COMM_SELF, " %s %.6e", r->spec->losses[l], (double)r->rep.losses[l]));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "\n"));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeCommandFit(MPI_Comm comm, const char command[])
{
  FitRun      r;
  PetscMPIInt size, rank;
  char        output[PETSC_MAX_PATH_LEN] = "";
  PetscBool   inject = PETSC_FALSE, help, need;
  MoeDataParams  dp;
  MoePairContext pc;
  MoeTruthFile  *tf;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&r, sizeof(r)));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(MoeStoreReadTruthFile(comm, &tf));
  PetscCall(MoeSpecCreate(comm, NULL, PETSC_FALSE, tf, &r.spec));
  if (r.spec->fit_group == MOE_FIT_GROUP_AUTO) r.spec->fit_group = size; /* one task: all the command's ranks */
  MoeUserCheck(size == 1 || size == r.spec->fit_group, "`moerate fit` runs on one rank, or on the -fit_group ranks that share its rows (got %d ranks, -fit_group %" PetscInt_FMT "): use `moerate run` to spread a grid over MPI ranks", size, r.spec->fit_group);
  MoeUserCheck(r.spec->fit_group <= size, "-fit_group %" PetscInt_FMT ": `moerate fit` on %d rank(s) forms one group of all its ranks: start it with mpirun -n %" PetscInt_FMT, r.spec->fit_group, size, r.spec->fit_group);
  PetscOptionsBegin(comm, NULL, "moerate fit: replicate and output", "moerate");
  PetscCall(PetscOptionsInt("-replicate", "replicate index (with -seed and -n it fixes the data)", NULL, r.replicate, &r.replicate, NULL));
  PetscCall(PetscOptionsInt("-restart", "0: the replicate's fit; j > 0: its j-th restart of a run's stability diagnostic (the same data, other starts)", NULL, r.restart, &r.restart, NULL));
  PetscCall(PetscOptionsString("-output", "write the replicate (data, truth, start, fit, losses) to this HDF5 file", NULL, output, output, sizeof(output), NULL));
  PetscCall(PetscOptionsBool("-fit_inject_nan", "testing: make every residual NaN so that the fit fails", NULL, inject, &inject, NULL));
  PetscOptionsEnd();
  MoeUserCheck(r.replicate >= 0, "-replicate %" PetscInt_FMT " must be >= 0", r.replicate);
  MoeUserCheck(r.restart >= 0, "-restart %" PetscInt_FMT " must be >= 0 (0: the replicate's own fit)", r.restart);
  PetscCall(MoeModelCreate(r.spec->gatings[0], r.spec->experts[0], r.spec->k, r.spec->d, NULL, NULL, &r.model));
  PetscCall(MoeCheckTaoOptions(r.spec, r.model)); /* also lists the TAO options under -help */
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    PetscCall(MoeModelDestroy(&r.model));
    PetscCall(MoeSpecDestroy(&r.spec));
    PetscFunctionReturn(0);
  }
  if (output[0]) PetscCall(MoeCheckOutputPath("-output", output));
  PetscCall(MoeCheckUnusedOptions(comm));
  PetscCall(MoeTruthSelect(r.spec, &r.truth)); /* screened once: the truth of the fit */
  if (r.spec->fit_group) PetscCallMPI(MPI_Comm_dup(comm, &r.spec->group)); /* every rank of the command shares the replicate's rows */
  MoeSpecDataParams(r.spec, &dp);
  PetscCall(MoeDataEvaluationSample(&dp, r.truth, &r.eval));
  PetscCall(PetscMalloc3(r.model->p, &r.rep.theta0, r.model->p, &r.rep.theta, r.spec->nlosses, &r.rep.losses));
  pc = (MoePairContext){r.spec, 0, 0, 0, r.model, r.truth, NULL, r.eval};
  PetscCall(MoeSpecNeedsReference(r.spec, 0, 0, &need));
  if (need) { /* G-bar first: a near start of a fit of other families than the truth's is near G-bar */
    PetscCall(PetscMalloc1(r.model->p, &r.reference));
    r.ref.theta = r.reference;
    PetscCall(MoeTaskReference(&pc, &r.ref));
    pc.gbar = r.reference;
  }
  PetscCall(MoeTaskReplicate(&pc, r.spec->ns[0], r.replicate, r.restart, inject, PETSC_TRUE, &r.rep));
  if (!rank) PetscCall(PrintSummary(&r));
  if (output[0] && !rank) {
    MoeReplicateFile f = {r.spec, r.truth, r.model, r.rep.data, r.replicate, r.rep.theta0, r.rep.theta, r.rep.losses, &r.rep.fit, MoeFitReasonString(r.rep.fit.reason), &r.rep.cert, r.reference, &r.ref.fit, r.ref.identified, r.ref.weak_sd, r.ref.why};
    PetscCall(MoeStoreWriteReplicate(&f, output, command));
    PetscCall(PetscPrintf(comm, "wrote %s\n", output));
  }

  PetscCall(PetscFree3(r.rep.theta0, r.rep.theta, r.rep.losses));
  PetscCall(PetscFree(r.reference));
  PetscCall(MoeDataDestroy(&r.rep.data));
  PetscCall(MoeDataDestroy(&r.eval));
  PetscCall(MoeModelDestroy(&r.model));
  PetscCall(MoeTruthDestroy(&r.truth));
  if (r.spec->group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&r.spec->group));
  PetscCall(MoeSpecDestroy(&r.spec));
  PetscFunctionReturn(0);
}
