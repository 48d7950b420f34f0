/* The least-squares fit with TAO (see moefit.h for the two routes). */
#include <moefit.h>
#include <petscblaslapack.h>

const char *const MoeFitStatuses[] = {"pending", "converged", "failed", "skipped", "MoeFitStatus", "MOE_FIT_", NULL};

typedef struct {
  MoeModel       m;
  const MoeData *D;
  PetscReal     *theta; /* full parameter vector at the current point */
  PetscInt       B;     /* rows per block */
  PetscInt       hrows; /* rows of the Gauss-Newton Hessian: the first hrows (the rows are iid draws) */
  PetscInt       reuse; /* form the Hessian at most once per `reuse` iterations */
  PetscInt       hits, hrows_formed; /* iteration and rows of the Hessian last formed (-1: none) */
  PetscReal     *Jb;    /* B x pfree block of J, row-major */
  PetscReal     *rb;    /* B residuals */
  PetscReal     *row;   /* one full Jacobian row */
  PetscBool      blocks; /* evaluate blocks of rows through BLAS (MoeModelHasBlocks) */
  PetscBool      single; /* the Gauss-Newton Hessian in single precision */
  float         *Jf, *Hf; /* its J block and chunk sum */
  PetscReal     *Cb;    /* B rows of the block factors */
  PetscReal     *gfull; /* the gradient in the full layout */
  PetscBool      lm;    /* Levenberg-Marquardt damping of the Gauss-Newton Hessian */
  PetscReal      lambda, lambda_min, down, up, fold;
  PetscBool      inject_nan;
  /* objective-decrease test, and the box the parameters must stay in */
  PetscReal  ftol, max_norm;
  PetscBool  unbounded;
  PetscInt   window, wstart; /* the decrease test looks back `window` iterations, not before wstart */
  PetscReal *fhist;
  /* stored-Jacobian route */
  PetscReal *xjac; /* the point at which J was last formed */
  PetscBool  jvalid;
} MoeFitCtx;

static PetscBool (*interrupt_check)(void *) = NULL;
static void *interrupt_ctx                = NULL;

PetscErrorCode MoeFitSetInterrupt(PetscBool (*check)(void *), void *ctx)
{
  PetscFunctionBegin;
  interrupt_check = check;
  interrupt_ctx   = ctx;
  PetscFunctionReturn(0);
}

/* Has the interrupt check fired (a stop request)? */
PetscBool MoeFitInterruptSet(void)
{
  return (PetscBool)(interrupt_check != NULL);
}

PetscBool MoeFitInterrupted(void)
{
  return interrupt_check && interrupt_check(interrupt_ctx) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode MoeFitInterruptMonitor(Tao tao, void *ctx)
{
  PetscBool *interrupted = (PetscBool *)ctx;

  PetscFunctionBegin;
  if (MoeFitInterrupted()) {
    *interrupted = PETSC_TRUE;
    PetscCall(TaoSetConvergedReason(tao, TAO_DIVERGED_USER));
  }
  PetscFunctionReturn(0);
}

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

/* TAO's tests (gradient tolerances, iteration and evaluation caps), and one more: the
   objective decreased by less than ftol * f over the last `window` iterations.  ReLU
   experts make the objective piecewise smooth, so its gradient need not vanish at a
   minimiser, and over-specified fits converge sublinearly; the decrease test is the one
   that ends such fits (reason CONVERGED_FTOL).  A fit whose parameters leave the box
   |theta|_inf <= max_norm has failed (DIVERGED_UNBOUNDED). */
static PetscErrorCode ConvergenceTest(Tao tao, void *ctx)
{
  MoeFitCtx         *c = (MoeFitCtx *)ctx;
  TaoConvergedReason reason;
  PetscInt           its;
  PetscReal          f;

  PetscFunctionBegin;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  if (reason != TAO_CONTINUE_ITERATING) PetscFunctionReturn(0);
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
  if (its >= c->wstart + c->window && c->fhist[its % c->window] - f <= c->ftol * PetscAbsReal(f)) {
    if (c->hrows < c->D->n) { /* a sub-sampled Hessian stalls first: double its rows and go on */
      c->hrows  = PetscMin(2 * c->hrows, c->D->n);
      c->wstart = its;
    } else if (c->reuse > 1) { /* so does a reused one: a fresh Hessian at every iteration from here */
      c->reuse  = 1;
      c->wstart = its;
    } else PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  }
  c->fhist[its % c->window] = f; /* f of iteration its, read back `window` iterations later */
  PetscFunctionReturn(0);
}

static PetscErrorCode SetPoint(MoeFitCtx *c, Vec X)
{
  const PetscScalar *x;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(MoeModelFreeToFull(c->m, x, c->theta));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Residuals of rows r0 .. r0+nb-1; with wantC their factors (c->Cb; block evaluation only, where
   the caller asks for them instead of J), with wantJ the free columns of their J rows (c->Jb). */
static PetscErrorCode FillBlock(MoeFitCtx *c, PetscInt r0, PetscInt nb, PetscBool wantC, PetscBool wantJ)
{
  MoeModel         m  = c->m;
  const PetscReal *X  = c->D->X, *Y = c->D->Y;
  PetscInt         pf = m->pfree, rr, j;

  PetscFunctionBegin;
  if (c->blocks) {
    const PetscReal *Xb = X + (size_t)r0 * m->d;
    PetscCall(MoeModelEvaluateBlock(m, c->theta, nb, Xb, c->rb, wantC || wantJ ? c->Cb : NULL));
    for (rr = 0; rr < nb; rr++) c->rb[rr] -= Y[r0 + rr];
    if (wantJ) PetscCall(MoeModelBlockJacobian(m, nb, Xb, c->Cb, c->row, c->Jb));
  } else
    for (rr = 0; rr < nb; rr++) {
      const PetscReal *x = X + (size_t)(r0 + rr) * m->d;
      PetscReal        f;
      if (wantJ) {
        PetscReal *Jr = c->Jb + (size_t)rr * pf;
        PetscCall(MoeModelEvaluateRow(m, c->theta, x, &f, c->row));
        for (j = 0; j < pf; j++) Jr[j] = c->row[m->ifree[j]];
      } else PetscCall(MoeModelEvaluate(m, c->theta, x, &f));
      c->rb[rr] = f - Y[r0 + rr];
    }
  if (c->inject_nan) c->rb[0] = MOE_NAN;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeFitObjective(MoeModel m, const MoeData *D, const PetscReal *theta, PetscReal *obj)
{
  PetscInt  r, r0, nb, B = 256;
  PetscReal s = 0, f, F[256];

  PetscFunctionBegin;
  if (MoeModelHasBlocks(m))
    for (r0 = 0; r0 < D->n; r0 += B) {
      nb = PetscMin(B, D->n - r0);
      PetscCall(MoeModelEvaluateBlock(m, theta, nb, D->X + (size_t)r0 * D->d, F, NULL));
      for (r = 0; r < nb; r++) s += (F[r] - D->Y[r0 + r]) * (F[r] - D->Y[r0 + r]);
    }
  else
    for (r = 0; r < D->n; r++) {
      PetscCall(MoeModelEvaluate(m, theta, D->X + (size_t)r * D->d, &f));
      s += (f - D->Y[r]) * (f - D->Y[r]);
    }
  *obj = 0.5 * s / D->n;
  PetscFunctionReturn(0);
}

static PetscErrorCode FormObjective(Tao tao, Vec X, PetscReal *obj, void *ctx)
{
  MoeFitCtx *c = (MoeFitCtx *)ctx;
  PetscInt   r0, nb, rr;
  PetscReal  s = 0;

  PetscFunctionBegin;
  PetscCall(SetPoint(c, X));
  for (r0 = 0; r0 < c->D->n; r0 += c->B) {
    nb = PetscMin(c->B, c->D->n - r0);
    PetscCall(FillBlock(c, r0, nb, PETSC_FALSE, PETSC_FALSE));
    for (rr = 0; rr < nb; rr++) s += c->rb[rr] * c->rb[rr];
  }
  *obj = 0.5 * s / c->D->n;
  PetscFunctionReturn(0);
}

/* f = |r|^2/2n and g = J^T r / n over blocks of rows: from the blocks' factors by GEMM
   (block evaluation), else from J's rows by GEMV. */
static PetscErrorCode FormObjectiveGradient(Tao tao, Vec X, PetscReal *obj, Vec G, void *ctx)
{
  MoeFitCtx   *c = (MoeFitCtx *)ctx;
  MoeModel     m = c->m;
  PetscInt     r0, nb, rr, j;
  PetscReal    s = 0;
  PetscScalar *g;
  PetscBLASInt bpf, bnb, one = 1;
  PetscScalar  sone = 1.0;

  PetscFunctionBegin;
  PetscCall(SetPoint(c, X));
  PetscCall(PetscBLASIntCast(m->pfree, &bpf));
  PetscCall(VecSet(G, 0.0));
  PetscCall(VecGetArray(G, &g));
  if (c->blocks) PetscCall(PetscArrayzero(c->gfull, m->p));
  for (r0 = 0; r0 < c->D->n; r0 += c->B) {
    nb = PetscMin(c->B, c->D->n - r0);
    PetscCall(FillBlock(c, r0, nb, c->blocks, !c->blocks));
    for (rr = 0; rr < nb; rr++) s += c->rb[rr] * c->rb[rr];
    if (c->blocks) PetscCall(MoeModelBlockGradient(m, nb, c->D->X + (size_t)r0 * m->d, c->Cb, c->rb, c->gfull));
    else {
      PetscCall(PetscBLASIntCast(nb, &bnb));
      PetscCallBLAS("BLASgemv", BLASgemv_("N", &bpf, &bnb, &sone, c->Jb, &bpf, c->rb, &one, &sone, g, &one));
    }
  }
  if (c->blocks)
    for (j = 0; j < m->pfree; j++) g[j] = c->gfull[m->ifree[j]];
  PetscCall(VecRestoreArray(G, &g));
  PetscCall(VecScale(G, 1.0 / c->D->n));
  *obj = 0.5 * s / c->D->n;
  PetscFunctionReturn(0);
}

/* H = J^T J / n accumulated with dsyrk over row blocks, plus the Levenberg-Marquardt
   damping lambda * clip(diag(J^T J / n)) of TAOBRGN's "lm" regulariser. */
/* Single-precision BLAS (the Fortran symbol of the same library PETSc calls dsyrk from). */
extern void ssyrk_(const char *, const char *, const PetscBLASInt *, const PetscBLASInt *, const float *, const float *, const PetscBLASInt *, const float *, float *, const PetscBLASInt *);

/* The upper triangle of h (+)= that of the single-precision hf. */
static void AddUpper(PetscInt pf, const float *hf, PetscBool first, PetscScalar *h)
{
  for (PetscInt j = 0; j < pf; j++)
    for (PetscInt i = 0; i <= j; i++) h[i + (size_t)j * pf] = (first ? 0 : h[i + (size_t)j * pf]) + hf[i + (size_t)j * pf];
}

/* h = J^T J / n at c->theta (pf x pf, column-major, both triangles), over row blocks: dsyrk, or
   with -fit_hessian_single ssyrk on J's rows rounded to float, summed in float over chunks of
   MOE_SINGLE_CHUNK rows and in double across chunks (the objective and gradient stay double). */
#define MOE_SINGLE_CHUNK 4096
static PetscErrorCode AccumulateJTJ(MoeFitCtx *c, PetscScalar *h)
{
  PetscInt     pf = c->m->pfree, r0, nb, i, j, rows = c->hrows, inchunk = 0;
  PetscScalar  zero = 0.0, sone = 1.0, scale = 1.0 / rows;
  float        fzero = 0.0f, fone = 1.0f, fscale = (float)scale;
  PetscBLASInt bpf, bnb;
  PetscBool    first = PETSC_TRUE;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(pf, &bpf));
  for (r0 = 0; r0 < rows; r0 += c->B) {
    nb = PetscMin(c->B, rows - r0);
    PetscCall(FillBlock(c, r0, nb, PETSC_FALSE, PETSC_TRUE));
    PetscCall(PetscBLASIntCast(nb, &bnb));
    if (!c->single) {
      PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "N", &bpf, &bnb, &scale, c->Jb, &bpf, r0 ? &sone : &zero, h, &bpf));
      continue;
    }
    for (size_t q = 0; q < (size_t)nb * pf; q++) c->Jf[q] = (float)c->Jb[q];
    ssyrk_("U", "N", &bpf, &bnb, &fscale, c->Jf, &bpf, inchunk ? &fone : &fzero, c->Hf, &bpf);
    inchunk += nb;
    if (inchunk >= MOE_SINGLE_CHUNK || r0 + nb >= rows) {
      AddUpper(pf, c->Hf, first, h);
      first   = PETSC_FALSE;
      inchunk = 0;
    }
  }
  for (j = 0; j < pf; j++) /* copy the upper triangle (column-major) to the lower */
    for (i = j + 1; i < pf; i++) h[i + (size_t)j * pf] = h[j + (size_t)i * pf];
  PetscFunctionReturn(0);
}

static PetscErrorCode FormHessian(Tao tao, Vec X, Mat H, Mat Hpre, void *ctx)
{
  MoeFitCtx   *c  = (MoeFitCtx *)ctx;
  PetscInt     pf = c->m->pfree, i;
  PetscScalar *h;

  PetscFunctionBegin;
  if (c->reuse > 1 && c->hits >= 0 && c->hrows == c->hrows_formed) { /* keep H for `reuse` iterations */
    PetscInt its;
    PetscCall(TaoGetIterationNumber(tao, &its));
    if (its - c->hits < c->reuse) PetscFunctionReturn(0);
  }
  PetscCall(TaoGetIterationNumber(tao, &c->hits));
  c->hrows_formed = c->hrows;
  PetscCall(SetPoint(c, X));
  PetscCall(MatDenseGetArrayWrite(H, &h));
  PetscCall(AccumulateJTJ(c, h));
  if (c->lm)
    for (i = 0; i < pf; i++) h[i + (size_t)i * pf] += c->lambda * PetscClipInterval(h[i + (size_t)i * pf], PETSC_SQRT_MACHINE_EPSILON, PetscSqrtReal(PETSC_MAX_REAL));
  PetscCall(MatDenseRestoreArrayWrite(H, &h));
  PetscCall(MatAssemblyBegin(H, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(H, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* TAOBRGN's lm rule: shrink the damping after a decrease of f, grow it otherwise. */
static PetscErrorCode UpdateDamping(Tao tao, PetscInt iter, void *ctx)
{
  MoeFitCtx *c = (MoeFitCtx *)ctx;
  PetscReal  f;

  PetscFunctionBegin;
  PetscCall(TaoGetSolutionStatus(tao, NULL, &f, NULL, NULL, NULL, NULL));
  if (iter > 0) c->lambda = PetscMax(c->lambda_min, c->lambda * (f < c->fold ? c->down : c->up));
  c->fold = f;
  PetscFunctionReturn(0);
}

/* ---- stored-Jacobian route (TAOBRGN, TAOPOUNDERS): r / sqrt(n) and J / sqrt(n) ---- */
static PetscErrorCode FormResidual(Tao tao, Vec X, Vec R, void *ctx)
{
  MoeFitCtx   *c = (MoeFitCtx *)ctx;
  PetscScalar *r;
  PetscInt     i;
  PetscReal    s = 1.0 / PetscSqrtReal((PetscReal)c->D->n);

  PetscFunctionBegin;
  PetscCall(SetPoint(c, X));
  PetscCall(VecGetArrayWrite(R, &r));
  for (i = 0; i < c->D->n; i++) {
    PetscReal f;
    PetscCall(MoeModelEvaluate(c->m, c->theta, c->D->X + (size_t)i * c->D->d, &f));
    r[i] = s * (f - c->D->Y[i]);
  }
  if (c->inject_nan) r[0] = MOE_NAN;
  PetscCall(VecRestoreArrayWrite(R, &r));
  PetscFunctionReturn(0);
}

/* TAOBRGN asks for J twice at the same point: keep it. */
static PetscErrorCode FormJacobian(Tao tao, Vec X, Mat J, Mat Jpre, void *ctx)
{
  MoeFitCtx         *c = (MoeFitCtx *)ctx;
  const PetscScalar *x;
  PetscScalar       *a;
  PetscInt           i, j, n = c->D->n, pf = c->m->pfree;
  PetscReal          s = 1.0 / PetscSqrtReal((PetscReal)n);
  PetscBool          same;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(PetscArraycmp(x, c->xjac, pf, &same));
  if (!(same && c->jvalid)) PetscCall(PetscArraycpy(c->xjac, x, pf));
  PetscCall(VecRestoreArrayRead(X, &x));
  if (same && c->jvalid) PetscFunctionReturn(0);
  PetscCall(SetPoint(c, X));
  PetscCall(MatDenseGetArrayWrite(J, &a));
  for (i = 0; i < n; i++) {
    PetscReal f;
    PetscCall(MoeModelEvaluateRow(c->m, c->theta, c->D->X + (size_t)i * c->D->d, &f, c->row));
    for (j = 0; j < pf; j++) a[i + (size_t)j * n] = s * c->row[c->m->ifree[j]];
  }
  PetscCall(MatDenseRestoreArrayWrite(J, &a));
  c->jvalid = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* How far the gradient is from its statistical scale: max_j |g_j| / sqrt(nu H_jj / n), with
   g = J^T r / n and H_jj = sum_r J_rj^2 / n.  At the truth, g_j is a mean of n noise terms with
   exactly that standard deviation; at a minimiser g = 0.  A fit that stops with some g_j
   above it (z > 1) has stalled.  (The Gauss-Newton decrement g^T H^-1 g is no test here: over-
   specified fits have flat directions along which the quadratic model overpredicts the
   decrease many times.) */
static PetscErrorCode GradientZ(MoeFitCtx *c, PetscReal noise, PetscReal *z)
{
  PetscInt   pf = c->m->pfree, j, r0, nb, rr;
  PetscReal *g, *h, n = c->D->n;

  PetscFunctionBegin;
  PetscCall(PetscCalloc2(pf, &g, pf, &h));
  for (r0 = 0; r0 < c->D->n; r0 += c->B) {
    nb = PetscMin(c->B, c->D->n - r0);
    PetscCall(FillBlock(c, r0, nb, PETSC_FALSE, PETSC_TRUE));
    for (rr = 0; rr < nb; rr++) {
      const PetscReal *Jr = c->Jb + (size_t)rr * pf;
      for (j = 0; j < pf; j++) {
        g[j] += Jr[j] * c->rb[rr];
        h[j] += Jr[j] * Jr[j];
      }
    }
  }
  *z = 0;
  for (j = 0; j < pf; j++)
    if (h[j] > 0) *z = PetscMax(*z, PetscAbsReal(g[j] / n) / PetscSqrtReal(noise * (h[j] / n) / n));
  PetscCall(PetscFree2(g, h));
  PetscFunctionReturn(0);
}

/* Defaults for TAOBRGN that the user did not set: the dense Levenberg-Marquardt setup. */
static PetscErrorCode SetBRGNDefaults(void)
{
  const char *defaults[][2] = {
    {"-tao_brgn_regularization_type",       "lm"         },
    {"-tao_brgn_mat_explicit",              "1"          },
    {"-tao_brgn_subsolver_tao_ls_type",     "more-thuente"},
    {"-tao_brgn_subsolver_tao_bnk_ksp_type", "preonly"    },
    {"-tao_brgn_subsolver_tao_bnk_pc_type",  "cholesky"   },
  };
  size_t    i;
  PetscBool set;

  PetscFunctionBegin;
  for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
    PetscCall(PetscOptionsHasName(NULL, NULL, defaults[i][0], &set));
    if (!set) PetscCall(PetscOptionsSetValue(NULL, defaults[i][0], defaults[i][1]));
  }
  PetscFunctionReturn(0);
}

/* A Tao for model m with moerate's defaults, then the user's options.  Default: TAOBNTR,
   a trust-region Newton method, on the Gauss-Newton Hessian, with the trust-region
   subproblem solved by Steihaug CG preconditioned by diag(J^T J): a Levenberg-Marquardt
   method with Marquardt's scaling. */
static PetscErrorCode CreateTao(MoeModel m, Tao *tao, PetscBool *stored)
{
  KSP       ksp;
  PC        pc;
  PetscBool isbrgn, ispounders, set;
  char      type[64];

  PetscFunctionBegin;
  PetscCall(TaoCreate(PETSC_COMM_SELF, tao));
  PetscCall(TaoSetType(*tao, TAOBNTR));
  PetscCall(TaoSetTolerances(*tao, 1e-10, 1e-10, 0.0));
  PetscCall(TaoSetMaximumIterations(*tao, 1000));
  PetscCall(TaoSetMaximumFunctionEvaluations(*tao, 100000));
  PetscCall(TaoGetKSP(*tao, &ksp));
  PetscCall(KSPSetType(ksp, KSPSTCG));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, PCJACOBI));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-tao_type", type, sizeof(type), &set));
  if (set) { /* another type: its own defaults, except dense Cholesky for line-search Newton */
    PetscBool isls = PETSC_FALSE;
    PetscCall(TaoSetType(*tao, type));
    PetscCall(PetscStrcmp(type, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(SetBRGNDefaults());
    for (const char *const *t = (const char *const[]){TAOBNLS, TAONLS, NULL}; *t; t++) {
      PetscBool same;
      PetscCall(PetscStrcmp(type, *t, &same));
      isls = (PetscBool)(isls || same);
    }
    if (isls) {
      PetscCall(TaoGetKSP(*tao, &ksp));
      PetscCall(KSPSetType(ksp, KSPPREONLY));
      PetscCall(KSPGetPC(ksp, &pc));
      PetscCall(PCSetType(pc, PCCHOLESKY));
    }
  }
  PetscCall(TaoSetFromOptions(*tao));
  PetscCall(PetscObjectTypeCompare((PetscObject)*tao, TAOBRGN, &isbrgn));
  PetscCall(PetscObjectTypeCompare((PetscObject)*tao, TAOPOUNDERS, &ispounders));
  *stored = (PetscBool)(isbrgn || ispounders);
  PetscFunctionReturn(0);
}

/* Validate the TAO options before any work starts: a bad -tao_type is a user error. */
PetscErrorCode MoeFitCheckOptions(MoeModel m)
{
  Tao            tao;
  PetscBool      stored;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = CreateTao(m, &tao, &stored);
  PetscCall(PetscPopErrorHandler());
  if (ierr) {
    char type[64] = "";
    PetscCall(PetscOptionsGetString(NULL, NULL, "-tao_type", type, sizeof(type), NULL));
    MoeUserError("the TAO options are not valid (-tao_type '%s'?): see the TAO types in -help, e.g. bnls, bntr, brgn, lmvm", type);
  }
  PetscCall(TaoDestroy(&tao));
  PetscFunctionReturn(0);
}

/* One fit from theta0; theta receives the last iterate (also when the fit failed). */
PetscErrorCode MoeFitSolve(const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  MoeFitCtx          c;
  Tao                tao, sub = NULL;
  Vec                x, xs, R = NULL, lo = NULL, hi = NULL;
  Mat                H = NULL, J = NULL;
  PetscBool          stored, interrupted = PETSC_FALSE;
  PetscErrorCode     ierr;
  PetscLogDouble     t0 = MoeWallTime();
  TaoConvergedReason reason;
  PetscScalar       *xa;
  PetscReal         *lower;
  PetscInt           j, its;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&c, sizeof(c)));
  PetscCall(PetscMemzero(res, sizeof(*res)));
  c.m          = m;
  c.D          = D;
  c.B          = PetscMax(1, PetscMin(fp->block, D->n));
  /* sub-sampled Newton: the data rows are iid draws, so the first hrows are a random sample; the
     objective and gradient stay exact, and the decrease test stops the fit only once the Hessian
     has all n rows (each stall of a sub-sampled one doubles its rows) */
  c.hrows      = fp->hessian_rows > 0 ? PetscMin(fp->hessian_rows, D->n) : D->n;
  c.reuse      = PetscMax(1, fp->hessian_reuse);
  c.hits       = -1;
  c.lm         = PETSC_FALSE; /* set below for line-search types */
  c.lambda     = fp->lm_lambda;
  c.lambda_min = 1e-10;
  c.down       = fp->lm_down;
  c.up         = fp->lm_up;
  c.fold       = PETSC_MAX_REAL;
  c.inject_nan = inject_nan;
  /* auto: stop once the objective moves by less than 1% of its statistical resolution 1/n
     over a window: moving a parameter by its standard error changes the objective by about f/n */
  c.ftol       = fp->ftol < 0 ? 0.01 / D->n : fp->ftol;
  c.max_norm   = fp->max_norm;
  c.window     = fp->ftol_window;
  PetscCall(PetscMalloc1(c.window, &c.fhist));
  PetscCall(PetscMalloc4(m->p, &c.theta, (size_t)c.B * m->pfree, &c.Jb, c.B, &c.rb, m->p, &c.row));
  c.blocks = (PetscBool)(MoeModelHasBlocks(m) && !fp->rows);
  if (c.blocks) PetscCall(PetscMalloc2((size_t)c.B * MoeModelBlockFactors(m), &c.Cb, m->p, &c.gfull));
  c.single = fp->hessian_single;
  if (c.single) PetscCall(PetscMalloc2((size_t)c.B * m->pfree, &c.Jf, (size_t)m->pfree * m->pfree, &c.Hf));
  PetscCall(PetscArraycpy(c.theta, theta0, m->p));

  PetscCall(CreateTao(m, &tao, &stored));
  if (stored) { /* TAO's own least squares forms its Hessian itself */
    c.hrows = D->n;
    c.reuse = 1;
  }
  { /* trust-region types need no damping; line-search Newton gets TAOBRGN's lm damping */
    PetscBool tr = PETSC_FALSE;
    for (const char *const *t = (const char *const[]){TAOBNTR, TAOBNTL, TAONTR, TAONTL, NULL}; *t; t++) {
      PetscBool same;
      PetscCall(PetscObjectTypeCompare((PetscObject)tao, *t, &same));
      tr = (PetscBool)(tr || same);
    }
    c.lm = (PetscBool)(!tr && fp->lm_lambda > 0);
    /* line-search Newton shifts H in place and its damping changes every iteration: a kept H
       would pile up shifts and miss the damping, so it is formed every iteration there */
    if (!tr) c.reuse = 1;
  }
  PetscCall(TaoSetConvergenceTest(tao, ConvergenceTest, &c));
  if (interrupt_check) PetscCall(TaoSetMonitor(tao, MoeFitInterruptMonitor, &interrupted, NULL));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, m->pfree, &x));
  PetscCall(VecGetArrayWrite(x, &xa));
  PetscCall(MoeModelFullToFree(m, theta0, xa));
  PetscCall(VecRestoreArrayWrite(x, &xa));
  PetscCall(TaoSetSolution(tao, x));

  /* bounds only where the model has them (a fitted temperature) */
  PetscCall(PetscMalloc1(m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  for (j = 0; j < m->pfree; j++)
    if (lower[m->ifree[j]] != PETSC_NINFINITY) break;
  if (j < m->pfree) {
    PetscCall(VecDuplicate(x, &lo));
    PetscCall(VecDuplicate(x, &hi));
    PetscCall(VecGetArrayWrite(lo, &xa));
    for (j = 0; j < m->pfree; j++) xa[j] = lower[m->ifree[j]];
    PetscCall(VecRestoreArrayWrite(lo, &xa));
    PetscCall(VecSet(hi, PETSC_INFINITY));
    PetscCall(TaoSetVariableBounds(tao, lo, hi));
  }
  PetscCall(PetscFree(lower));

  if (stored) {
    PetscCall(PetscMalloc1(m->pfree, &c.xjac));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, D->n, &R));
    PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, D->n, m->pfree, NULL, &J));
    PetscCall(TaoSetResidualRoutine(tao, R, FormResidual, &c));
    PetscCall(TaoSetJacobianResidualRoutine(tao, J, J, FormJacobian, &c));
  } else {
    PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, m->pfree, m->pfree, NULL, &H));
    PetscCall(MatSetOption(H, MAT_SPD, PETSC_TRUE));
    PetscCall(TaoSetObjective(tao, FormObjective, &c));
    PetscCall(TaoSetObjectiveAndGradient(tao, NULL, FormObjectiveGradient, &c));
    PetscCall(TaoSetHessian(tao, H, H, FormHessian, &c));
    if (c.lm) PetscCall(TaoSetUpdate(tao, UpdateDamping, &c));
  }

  /* An Inf/NaN residual or a failed factorisation raises a PETSc error inside TaoSolve:
     record the fit as failed and go on. */
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = TaoSolve(tao);
  PetscCall(PetscPopErrorHandler());

  if (stored) { /* TAOBRGN's own status is stale: ask its subsolver */
    PetscBool isbrgn;
    PetscCall(PetscObjectTypeCompare((PetscObject)tao, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(TaoBRGNGetSubsolver(tao, &sub));
  }
  PetscCall(TaoGetSolutionStatus(sub ? sub : tao, &its, NULL, &res->gnorm, NULL, NULL, &reason));
  PetscCall(TaoGetSolution(sub ? sub : tao, &xs));
  {
    const PetscScalar *xr;
    PetscCall(VecGetArrayRead(xs, &xr));
    PetscCall(PetscArraycpy(theta, theta0, m->p)); /* pinned entries */
    PetscCall(MoeModelFreeToFull(m, xr, theta));
    PetscCall(VecRestoreArrayRead(xs, &xr));
  }
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
  if (c.unbounded) {
    res->status = MOE_FIT_FAILED;
    res->reason = MOE_REASON_UNBOUNDED;
    PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "the parameters left the box |theta|_inf <= %g (-fit_max_norm): the objective has no minimiser near the start", (double)fp->max_norm));
  }
  res->gradient_z = MOE_NAN;
  if (!ierr && !stored && res->status == MOE_FIT_CONVERGED && reason == TAO_CONVERGED_USER && fp->noise > 0) {
    PetscCall(PetscArraycpy(c.theta, theta, m->p));
    PetscCall(GradientZ(&c, fp->noise, &res->gradient_z));
    if (!(res->gradient_z <= fp->max_gradient_z)) {
      res->status = MOE_FIT_FAILED;
      res->reason = MOE_REASON_STALLED;
      PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "stopped on the objective-decrease test with a gradient %.3g times its statistical scale (> -fit_max_gradient_z)", (double)res->gradient_z));
    }
  }
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
  PetscCall(PetscFree(c.xjac));
  PetscCall(PetscFree4(c.theta, c.Jb, c.rb, c.row));
  PetscCall(PetscFree2(c.Cb, c.gfull));
  PetscCall(PetscFree2(c.Jf, c.Hf));
  PetscCall(PetscFree(c.fhist));
  PetscFunctionReturn(0);
}
