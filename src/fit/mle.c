/* Maximum likelihood for the Gaussian MoE (-model gaussian): TAO minimises the negative mean
   log-likelihood -(1/n) sum_r log p(Y_r | X_r) over the free parameters with its analytic
   gradient (src/model/gaussian.c), by a bounded quasi-Newton line search (bqnls: sigma_i >= 1e-6,
   a fitted temperature above its bound), from the start it is given.  TAO's options apply with
   the prefix -mle_ (e.g. -mle_tao_max_it).  Starts, multi-start and the certificate against the
   truth's likelihood are the certification's (src/certify/certify.c), as for least squares. */
#include <moe/private/fitimpl.h>

typedef struct {
  MoeModel       m;
  const MoeData *D;
  PetscReal     *theta, *llgrad; /* llgrad: the mean log-likelihood and its gradient (1 + p) */
  PetscBool      inject_nan;
  PetscReal      drop;   /* the decrease test's threshold on f (0: off) */
  PetscInt       window; /* ... over this many iterations */
  PetscReal     *fhist;
} MoeMLECtx;

/* [ll, score] (1 + p, full layout) of the mean log-likelihood over the rows of D, summed over its
   chunks when D is chunked, on one rank or spread over a group (MoeDataGroupSum). */
typedef struct {
  MoeModel         m;
  const PetscReal *theta;
  PetscBool        score;
} LikelihoodAt;

static PetscErrorCode LikelihoodOfRows(void *ctx, const MoeData *D, PetscReal *out)
{
  LikelihoodAt *at = (LikelihoodAt *)ctx;

  PetscFunctionBegin;
  PetscCall(MoeModelLogLikelihood(at->m, at->theta, D->n, D->X, D->Y, &out[0], at->score ? out + 1 : NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode SampleLogLikelihood(MoeModel m, const MoeData *D, const PetscReal *theta, PetscReal *llgrad, PetscBool score)
{
  LikelihoodAt at = {m, theta, score};

  PetscFunctionBegin;
  PetscCall(MoeDataGroupSum(D, theta, m->p, score ? 1 + m->p : 1, LikelihoodOfRows, &at, llgrad));
  PetscFunctionReturn(0);
}

static PetscErrorCode FormNegLogLikelihood(Tao tao, Vec X, PetscReal *f, Vec G, void *ctx)
{
  MoeMLECtx         *c = (MoeMLECtx *)ctx;
  const PetscScalar *x;
  PetscScalar       *g;
  PetscReal          ll;
  PetscInt           j;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(MoeModelFreeToFull(c->m, x, c->theta));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(SampleLogLikelihood(c->m, c->D, c->theta, c->llgrad, PETSC_TRUE));
  ll = c->llgrad[0];
  *f = c->inject_nan ? MOE_NAN : -ll;
  PetscCheck(!PetscIsInfOrNanReal(*f), PETSC_COMM_SELF, PETSC_ERR_FP, "the log-likelihood is not finite");
  PetscCall(VecGetArrayWrite(G, &g));
  for (j = 0; j < c->m->pfree; j++) {
    g[j] = -c->llgrad[1 + c->m->ifree[j]];
    PetscCheck(!PetscIsInfOrNanReal(g[j]), PETSC_COMM_SELF, PETSC_ERR_FP, "the score is not finite");
  }
  PetscCall(VecRestoreArrayWrite(G, &g));
  PetscFunctionReturn(0);
}

/* TAO's tests, and with -mle_ftol u the objective-decrease test in the certificate's units: the fit
   stops (CONVERGED_FTOL) once 2n times the gain in mean log-likelihood over the last -mle_ftol_window
   iterations is below u.  Without it a fit in a flat valley (an over-specified or singular design)
   reaches the limit of double precision long before the gradient tolerance: its line searches then
   take tens of evaluations for a gain of a few ulps, up to the iteration cap (DeepSeekMoE truth (1),
   n = 46416: the objective equal to 10 digits from iteration 300 to 2000, 1588 s, the last 1700
   iterations 99% of it).  The window is long because quasi-Newton iterations stall on plateaus and
   then fall again: gains below 1e-5 units over 10 iterations with 2.4 units still to come
   (docs/results/mle_ftol.md). */
static PetscErrorCode ConvergenceTest(Tao tao, void *ctx)
{
  MoeMLECtx *c = (MoeMLECtx *)ctx;
  PetscInt   its;
  PetscReal  f;
  PetscBool  go_on;

  PetscFunctionBegin;
  PetscCall(MoeFitTaoDefaultTest(tao, &go_on));
  if (!go_on || c->drop <= 0) PetscFunctionReturn(0);
  PetscCall(TaoGetSolutionStatus(tao, &its, &f, NULL, NULL, NULL, NULL));
  if (MoeFitDecreaseStalled(c->fhist, c->window, 0, its, f, c->drop)) PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  PetscFunctionReturn(0);
}

/* One maximum-likelihood fit from theta0 at the model's selection as it is. */
static PetscErrorCode SolveMLE(const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  MoeMLECtx          c = {m, D, NULL, NULL, inject_nan, fp->decrease_units / (2.0 * MoeDataSize(D)), PetscMax(1, fp->decrease_window), NULL};
  Tao                tao;
  Vec                x, lo = NULL, hi = NULL;
  PetscErrorCode     ierr;
  TaoConvergedReason reason;
  PetscInt           its;
  PetscReal          ll;
  PetscLogDouble     t0 = MoeWallTime();
  PetscBool          interrupted = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  res->gradient_z = MOE_NAN;
  PetscCall(PetscMalloc3(m->p, &c.theta, 1 + m->p, &c.llgrad, c.window, &c.fhist));
  PetscCall(PetscArraycpy(c.theta, theta0, m->p));
  PetscCall(TaoCreate(PETSC_COMM_SELF, &tao));
  PetscCall(TaoSetOptionsPrefix(tao, "mle_"));
  PetscCall(TaoSetType(tao, TAOBQNLS));
  /* the gradient of the mean log-likelihood fluctuates by about sqrt(I/n) between samples: stop
     when it is 1e-4/sqrt(n), far below that (machine precision stalls the line search sooner) */
  PetscCall(TaoSetTolerances(tao, 1e-4 / PetscSqrtReal((PetscReal)MoeDataSize(D)), 0.0, 0.0));
  PetscCall(TaoSetMaximumIterations(tao, 2000));
  PetscCall(TaoSetMaximumFunctionEvaluations(tao, 100000));
  PetscCall(TaoSetFromOptions(tao));
  PetscCall(TaoSetObjectiveAndGradient(tao, NULL, FormNegLogLikelihood, &c));
  PetscCall(TaoSetConvergenceTest(tao, ConvergenceTest, &c));
  PetscCall(MoeFitTaoMonitorInterrupt(tao, &interrupted));
  PetscCall(MoeFitTaoStart(tao, m, theta0, &x, &lo, &hi)); /* sigma_i >= m->sigma_lo: always bounded */

  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL)); /* a non-finite likelihood: the fit failed */
  ierr = TaoSolve(tao);
  PetscCall(PetscPopErrorHandler());
  PetscCall(TaoGetSolutionStatus(tao, &its, NULL, &res->gnorm, NULL, NULL, &reason));
  PetscCall(MoeFitTaoSolution(tao, m, theta0, theta));
  res->iterations = its;
  res->reason     = ierr ? MOE_REASON_ERROR : reason;
  res->status     = (!ierr && reason > 0) ? MOE_FIT_CONVERGED : MOE_FIT_FAILED;
  if (ierr) PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "the log-likelihood is not finite at some iterate"));
  PetscCall(SampleLogLikelihood(m, D, theta, &ll, PETSC_FALSE));
  res->objective = -ll;
  if (PetscIsInfOrNanReal(res->objective)) {
    res->status = MOE_FIT_FAILED;
    res->reason = MOE_REASON_ERROR;
  }
  if (interrupted) {
    res->status = MOE_FIT_PENDING;
    res->reason = 0;
  }
  res->time = MoeWallTime() - t0;
  PetscCall(TaoDestroy(&tao));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&lo));
  PetscCall(VecDestroy(&hi));
  PetscCall(PetscFree3(c.theta, c.llgrad, c.fhist));
  PetscFunctionReturn(0);
}

/* The negative mean log-likelihood of theta on D: the objective of MoeFitMLE. */
PetscErrorCode MoeFitNegLogLikelihood(MoeModel m, const MoeData *D, const PetscReal *theta, PetscReal *f)
{
  PetscReal ll;

  PetscFunctionBegin;
  PetscCall(SampleLogLikelihood(m, D, theta, &ll, PETSC_FALSE));
  *f = -ll;
  PetscFunctionReturn(0);
}

/* A fit of the Gaussian MoE by `solve` (TAO or EM) from theta0; res->objective is the negative
   mean log-likelihood.  A hard top-K selection makes the likelihood piecewise constant in the parameters that choose
   the experts, so a gradient method cannot move it: the fit first follows the soft selection
   from temperature 1 down by factors of 4 to 1/1024, each stage started where the last ended,
   and ends with the hard selection itself (the model is left as it was).  fp->hard_only skips the
   soft stages: from a start that already selects the truth's atoms they only open a path away
   (P3's over-specified top-2 design: a split atom's gate sharpens into a step, without end). */
PetscErrorCode MoeFitAnnealed(MoeFitSolver solve, const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscBool    has;
  PetscReal    T0, T, *start, time = 0;
  PetscInt     its = 0;
  MoeFitResult r;

  PetscFunctionBegin;
  PetscCall(MoeModelGetSelectionTemperature(m, &has, &T0));
  if (!has || T0 > 0 || fp->hard_only) {
    PetscCall(solve(fp, m, D, theta0, inject_nan, theta, res));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc1(m->p, &start));
  PetscCall(PetscArraycpy(start, theta0, m->p));
  for (T = 1.0; T >= 1.0 / 1024; T /= 4) {
    PetscCall(MoeModelSetSelectionTemperature(m, T));
    PetscCall(solve(fp, m, D, start, inject_nan, theta, &r));
    its += r.iterations;
    time += r.time;
    if (r.status == MOE_FIT_PENDING || r.reason == MOE_REASON_ERROR) break; /* the last good stage's point goes on */
    PetscCall(PetscArraycpy(start, theta, m->p));
  }
  PetscCall(MoeModelSetSelectionTemperature(m, 0));
  if (r.status == MOE_FIT_PENDING) { /* abandoned: the task is run again */
    *res            = r;
    res->iterations = its;
    res->time       = time;
  } else { /* the hard selection, from where the annealing got (the fit's result is the hard model's) */
    PetscCall(solve(fp, m, D, start, inject_nan, theta, res));
    res->iterations += its;
    res->time += time;
  }
  PetscCall(PetscFree(start));
  PetscFunctionReturn(0);
}

/* One maximum-likelihood fit from theta0 by TAO (annealed through a top-K selection). */
PetscErrorCode MoeFitMLE(const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscFunctionBegin;
  PetscCall(MoeFitAnnealed(SolveMLE, fp, m, D, theta0, inject_nan, theta, res));
  PetscFunctionReturn(0);
}
