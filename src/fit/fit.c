/* The least-squares fit with TAO (see moefit.h for the two routes). */
#include <moe/private/fitimpl.h>

const char *const MoeFitStatuses[] = {"pending", "converged", "failed", "skipped", "MoeFitStatus", "MOE_FIT_", NULL};

const char *MoeFitReasonString(PetscInt reason)
{
  if (reason == MOE_REASON_ERROR) return "ERROR";
  if (reason == 0) return "NONE";
  if (reason == TAO_CONVERGED_USER) return "CONVERGED_FTOL";
  if (reason == MOE_REASON_UNBOUNDED) return "DIVERGED_UNBOUNDED";
  if (reason == MOE_REASON_STALLED) return "DIVERGED_STALLED";
  if (reason == MOE_REASON_EPOCHS) return "COMPLETED_EPOCHS";
  return TaoConvergedReasons[reason];
}

/* The objective-decrease test shared by the least-squares and the likelihood fits: true when f fell by
   at most `drop` over the last `window` iterations (never before iteration wstart + window).  It keeps
   f of iteration its in fhist, read back `window` iterations later. */
PetscBool MoeFitDecreaseStalled(PetscReal *fhist, PetscInt window, PetscInt wstart, PetscInt its, PetscReal f, PetscReal drop)
{
  PetscBool stalled = (PetscBool)(its >= wstart + window && fhist[its % window] - f <= drop);

  fhist[its % window] = f;
  return stalled;
}

/* TAO's tests (gradient tolerances, iteration and evaluation caps), and one more: the
   objective decreased by less than ftol * f over the last `window` iterations.  ReLU
   experts make the objective piecewise smooth, so its gradient need not vanish at a
   minimiser, and over-specified fits converge sublinearly; the decrease test is the one
   that ends such fits (reason CONVERGED_FTOL).  A fit whose parameters leave the box
   |theta|_inf <= max_norm has failed (DIVERGED_UNBOUNDED). */
static PetscErrorCode ConvergenceTest(Tao tao, void *ctx)
{
  MoeFitCtx *c = (MoeFitCtx *)ctx;
  PetscInt   its;
  PetscReal  f;
  PetscBool  go_on;

  PetscFunctionBegin;
  PetscCall(MoeFitTaoDefaultTest(tao, &go_on));
  if (!go_on) PetscFunctionReturn(0);
  if (c->max_norm > 0) {
    Vec       x;
    PetscReal norm;
    PetscCall(TaoGetSolution(tao, &x));
    PetscCall(VecNorm(x, NORM_INFINITY, &norm));
    if (norm > c->max_norm) {
      c->unbounded = PETSC_TRUE;
      PetscCall(TaoSetConvergedReason(tao, TAO_DIVERGED_USER));
      PetscFunctionReturn(0);
    }
  }
  if (c->ftol <= 0) PetscFunctionReturn(0);
  PetscCall(TaoGetSolutionStatus(tao, &its, &f, NULL, NULL, NULL, NULL));
  if (MoeFitDecreaseStalled(c->fhist, c->window, c->wstart, its, f, c->ftol * PetscAbsReal(f))) {
    if (c->hrows < c->D->n) { /* a sub-sampled Hessian stalls first: double its rows and go on */
      c->hrows  = PetscMin(2 * c->hrows, c->D->n);
      c->wstart = its;
    } else if (c->reuse > 1) { /* so does a reused one: a fresh Hessian at every iteration from here */
      c->reuse  = 1;
      c->wstart = its;
    } else PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  }
  PetscFunctionReturn(0);
}

/* The context of one fit from theta0 with the settings fp. */
static PetscErrorCode InitContext(MoeFitCtx *c, const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->m          = m;
  c->D          = D;
  c->B          = PetscMax(1, PetscMin(fp->block, D->n));
  /* sub-sampled Newton: the data rows are iid draws, so the first hrows are a random sample; the
     objective and gradient stay exact, and the decrease test stops the fit only once the Hessian
     has all n rows (each stall of a sub-sampled one doubles its rows) */
  c->hrows      = fp->hessian_rows > 0 ? PetscMin(fp->hessian_rows, D->n) : D->n;
  c->reuse      = PetscMax(1, fp->hessian_reuse);
  c->hits       = -1;
  c->lm         = PETSC_FALSE; /* set by DampLineSearch for line-search types */
  c->lambda     = fp->lm_lambda;
  c->lambda_min = 1e-10;
  c->down       = fp->lm_down;
  c->up         = fp->lm_up;
  c->fold       = PETSC_MAX_REAL;
  c->inject_nan = inject_nan;
  /* auto: stop once the objective moves by less than 1% of its statistical resolution 1/n
     over a window: moving a parameter by its standard error changes the objective by about f/n */
  c->ftol       = fp->ftol < 0 ? 0.01 / MoeDataSize(D) : fp->ftol;
  c->max_norm   = fp->max_norm;
  c->window     = fp->ftol_window;
  PetscCall(PetscMalloc1(c->window, &c->fhist));
  PetscCall(PetscMalloc4(m->p, &c->theta, (size_t)c->B * m->pfree, &c->Jb, c->B, &c->rb, m->p, &c->row));
  PetscCall(PetscMalloc1(1 + m->pfree, &c->fg));
  c->blocks = (PetscBool)(MoeModelHasBlocks(m) && !fp->rows);
  if (c->blocks) PetscCall(PetscMalloc2((size_t)c->B * MoeModelBlockFactors(m), &c->Cb, m->p, &c->gfull));
  c->single = fp->hessian_single;
  if (c->single) PetscCall(PetscMalloc2((size_t)c->B * m->pfree, &c->Jf, (size_t)m->pfree * m->pfree, &c->Hf));
  PetscCall(PetscArraycpy(c->theta, theta0, m->p));
  PetscFunctionReturn(0);
}

static PetscErrorCode DestroyContext(MoeFitCtx *c)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(c->xjac));
  PetscCall(PetscFree4(c->theta, c->Jb, c->rb, c->row));
  PetscCall(PetscFree(c->fg));
  PetscCall(PetscFree2(c->Cb, c->gfull));
  PetscCall(PetscFree2(c->Jf, c->Hf));
  PetscCall(PetscFree2(c->Hwork, c->Hpacked));
  PetscCall(PetscFree(c->fhist));
  PetscFunctionReturn(0);
}

/* Trust-region types need no damping; line-search Newton gets TAOBRGN's lm damping, and its Hessian is formed
   every iteration: it shifts H in place and its damping changes every iteration, so a kept H would pile up
   shifts and miss the damping. */
static PetscErrorCode DampLineSearch(Tao tao, const MoeFitParams *fp, MoeFitCtx *c)
{
  PetscBool tr = PETSC_FALSE;

  PetscFunctionBegin;
  for (const char *const *t = (const char *const[]){TAOBNTR, TAOBNTL, TAONTR, TAONTL, NULL}; *t; t++) {
    PetscBool same;
    PetscCall(PetscObjectTypeCompare((PetscObject)tao, *t, &same));
    tr = (PetscBool)(tr || same);
  }
  c->lm = (PetscBool)(!tr && fp->lm_lambda > 0);
  if (!tr) c->reuse = 1;
  PetscFunctionReturn(0);
}

/* Where the solve stopped: theta (the last iterate, pinned entries from theta0), iterations, gradient norm and
   reason (TAOBRGN's own status is stale: its subsolver's), and the objective. */
static PetscErrorCode ReadResult(Tao tao, PetscBool stored, PetscErrorCode ierr, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscReal *theta, MoeFitResult *res)
{
  Tao                sub = NULL;
  TaoConvergedReason reason;
  PetscInt           its;

  PetscFunctionBegin;
  if (stored) {
    PetscBool isbrgn;
    PetscCall(PetscObjectTypeCompare((PetscObject)tao, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(TaoBRGNGetSubsolver(tao, &sub));
  }
  PetscCall(TaoGetSolutionStatus(sub ? sub : tao, &its, NULL, &res->gnorm, NULL, NULL, &reason));
  PetscCall(MoeFitTaoSolution(sub ? sub : tao, m, theta0, theta));
  res->iterations = its;
  if (ierr) {
    const char *text;
    char       *specific = NULL;
    PetscErrorMessage(ierr, &text, &specific);
    res->reason = MOE_REASON_ERROR;
    PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "%s", specific && specific[0] ? specific : text));
  } else res->reason = reason;
  res->status = (ierr == 0 && reason > 0) ? MOE_FIT_CONVERGED : MOE_FIT_FAILED;
  PetscCall(MoeFitObjective(m, D, theta, &res->objective));
  if (!ierr && PetscIsInfOrNanReal(res->objective)) {
    res->status = MOE_FIT_FAILED;
    res->reason = MOE_REASON_ERROR;
  }
  PetscFunctionReturn(0);
}

/* A fit that left the box has failed; one that stopped on the decrease test with a gradient above its
   statistical scale has stalled. */
static PetscErrorCode Judge(MoeFitCtx *c, const MoeFitParams *fp, PetscBool stored, PetscErrorCode ierr, const PetscReal *theta, MoeFitResult *res)
{
  PetscFunctionBegin;
  if (c->unbounded) {
    res->status = MOE_FIT_FAILED;
    res->reason = MOE_REASON_UNBOUNDED;
    PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "the parameters left the box |theta|_inf <= %g (-fit_max_norm): the objective has no minimiser near the start", (double)fp->max_norm));
  }
  res->gradient_z = MOE_NAN;
  if (!ierr && !stored && res->status == MOE_FIT_CONVERGED && res->reason == TAO_CONVERGED_USER && fp->noise > 0) {
    PetscCall(PetscArraycpy(c->theta, theta, c->m->p));
    PetscCall(MoeFitGradientZ(c, fp->noise, &res->gradient_z));
    if (!(res->gradient_z <= fp->max_gradient_z)) {
      res->status = MOE_FIT_FAILED;
      res->reason = MOE_REASON_STALLED;
      PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "stopped on the objective-decrease test with a gradient %.3g times its statistical scale (> -fit_max_gradient_z)", (double)res->gradient_z));
    }
  }
  PetscFunctionReturn(0);
}

/* One fit from theta0; theta receives the last iterate (also when the fit failed). */
PetscErrorCode MoeFitSolve(const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  MoeFitCtx      c;
  Tao            tao;
  Vec            x, R = NULL, lo = NULL, hi = NULL;
  Mat            H = NULL, J = NULL;
  PetscBool      stored, interrupted = PETSC_FALSE;
  PetscErrorCode ierr;
  PetscLogDouble t0 = MoeWallTime();

  PetscFunctionBegin;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  PetscCall(InitContext(&c, fp, m, D, theta0, inject_nan));
  PetscCall(MoeFitCreateTao(m, fp->tao_prefix, &tao, &stored));
  /* TAO's own least squares takes every residual in one vector: no group spreads it */
  PetscCheck(!stored || !MoeDataGrouped(D), PETSC_COMM_SELF, PETSC_ERR_SUP, "TAO's own least squares (a stored Jacobian) needs every row on one rank: no -fit_group with it");
  if (stored) { /* TAO's own least squares forms its Hessian itself */
    c.hrows = D->n;
    c.reuse = 1;
  }
  PetscCall(DampLineSearch(tao, fp, &c));
  PetscCall(TaoSetConvergenceTest(tao, ConvergenceTest, &c));
  PetscCall(MoeFitTaoMonitorInterrupt(tao, &interrupted));
  PetscCall(MoeFitTaoStart(tao, m, theta0, &x, &lo, &hi));
  if (stored) PetscCall(MoeFitSetUpStored(tao, &c, &R, &J));
  else PetscCall(MoeFitSetUpGaussNewton(tao, &c, &H));
  /* An Inf/NaN residual or a failed factorisation raises a PETSc error inside TaoSolve:
     record the fit as failed and go on. */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = TaoSolve(tao);
  PetscCall(PetscPopErrorHandler());
  PetscCall(ReadResult(tao, stored, ierr, m, D, theta0, theta, res));
  PetscCall(Judge(&c, fp, stored, ierr, theta, res));
  if (interrupted) { /* abandoned: the task will run again */
    res->status = MOE_FIT_PENDING;
    res->reason = 0;
  }
  res->time = MoeWallTime() - t0;
  PetscCall(TaoDestroy(&tao));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&R));
  PetscCall(VecDestroy(&lo));
  PetscCall(VecDestroy(&hi));
  PetscCall(MatDestroy(&H));
  PetscCall(MatDestroy(&J));
  PetscCall(DestroyContext(&c));
  PetscFunctionReturn(0);
}

static PetscErrorCode SolveLeastSquares(const void *ctx, const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscFunctionBegin;
  PetscCall(MoeFitSolve(fp, m, D, theta0, inject_nan, theta, res));
  PetscFunctionReturn(0);
}

const MoeSolver MoeSolverLeastSquares = {SolveLeastSquares, MoeFitObjective, NULL, PETSC_FALSE};
