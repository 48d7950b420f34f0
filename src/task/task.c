/* The pipeline of one replicate task and of one reference task (moetask.h). */
#include <moetask.h>

PetscErrorCode MoeTaskReplicate(const MoePairContext *c, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscBool keep_data, MoeReplicateResult *r)
{
  MoeDataParams dp;
  MoeData      *D;
  MoeLossSet    losses;
  MoeTruth      truth; /* the truth of size n: data, certificate and losses are against it */
  PetscReal    *ttheta;

  PetscFunctionBegin;
  MoeSpecDataParams(c->spec, &dp);
  if (!MoeEstimatorGetFamily(c->spec->estimator[c->estimator])->groups) { /* -fit_group auto runs it alone: its own sums, in row order */
    dp.group   = MPI_COMM_NULL;
    dp.chunked = PETSC_FALSE;
  }
  PetscCall(PetscMalloc1(c->truth->model->p, &ttheta));
  PetscCall(MoeTruthAtN(c->truth, n, ttheta, &truth));
  PetscCall(MoeDataGenerate(&dp, &truth, n, replicate, &D));
  PetscCall(MoeEstimatorFit(c->spec->estimator[c->estimator], c->spec, c->model, &truth, c->gbar, D, n, replicate, restart, inject_nan, r->theta0, r->theta, &r->fit, &r->cert));
  if (r->fit.status != MOE_FIT_PENDING) { /* an abandoned fit has no losses */
    PetscCall(MoeSpecPairLosses(c->spec, c->g, c->e, &losses));
    PetscCall(MoeLossComputeAll(&losses, c->model, r->theta, &truth, c->gbar, c->eval, r->losses));
  }
  r->truth_shift = MoeTruthShift(c->truth, n);
  PetscCall(PetscFree(ttheta));
  if (keep_data) r->data = D;
  else PetscCall(MoeDataDestroy(&D));
  PetscFunctionReturn(0);
}

/* G-bar [P1]: the best k-atom MoE of the fitted families in L2(mu), approximated by the
   least-squares fit to noise-free data f_G*(X) on -reference_n points (stream REFERENCE),
   from -init_starts near-truth starts; then whether it is identified (moecertify.h). */
PetscErrorCode MoeTaskReference(const MoePairContext *c, MoeReferenceResult *r)
{
  MoeDataParams dp;
  MoeFitParams  fp;
  MoeInitParams ip;
  MoeData      *D;
  PetscReal    *theta0;

  PetscFunctionBegin;
  MoeSpecDataParams(c->spec, &dp);
  MoeSpecFitParams(c->spec, &fp);
  MoeSpecInitParams(c->spec, &ip);
  PetscCall(MoeDataReferenceSample(&dp, c->truth, &D));
  PetscCall(PetscMalloc1(c->model->p, &theta0));
  PetscCall(MoeCertifyBestOfStarts(&MoeSolverLeastSquares, &fp, &ip, c->model, c->truth, D, MOE_STREAM_REFERENCE, dp.reference_n, 0, PETSC_FALSE, theta0, r->theta, &r->fit));
  PetscCall(PetscFree(theta0));
  PetscCall(MoeDataDestroy(&D));
  r->identified = PETSC_FALSE;
  r->weak_sd    = MOE_NAN;
  r->why[0]     = 0;
  if (r->fit.status != MOE_FIT_PENDING) PetscCall(MoeCertifyReference(c->spec, c->model, c->truth, r->theta, r->fit.objective, &r->weak_sd, &r->identified, r->why, sizeof(r->why)));
  PetscFunctionReturn(0);
}
