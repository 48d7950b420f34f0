/* The Gauss-Newton route of the least-squares fit: the objective (1/2n) |r|^2, its gradient J^T r / n and the
   Gauss-Newton Hessian J^T J / n, accumulated over blocks of rows so that memory does not grow with n p. */
#include <moe/private/fitimpl.h>
#include <petscblaslapack.h>

PetscErrorCode MoeFitSetPoint(MoeFitCtx *c, Vec X)
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

typedef struct {
  MoeModel         m;
  const PetscReal *theta;
} ObjectiveAt;

static PetscErrorCode ObjectiveOfRows(void *ctx, const MoeData *D, PetscReal *obj)
{
  MoeModel         m     = ((ObjectiveAt *)ctx)->m;
  const PetscReal *theta = ((ObjectiveAt *)ctx)->theta;
  PetscInt         r, r0, nb, B = 256;
  PetscReal        s = 0, f, F[256];

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

PetscErrorCode MoeFitObjective(MoeModel m, const MoeData *D, const PetscReal *theta, PetscReal *obj)
{
  ObjectiveAt at = {m, theta};

  PetscFunctionBegin;
  PetscCall(MoeDataGroupSum(D, theta, m->p, 1, ObjectiveOfRows, &at, obj));
  PetscFunctionReturn(0);
}

/* A sum over the sample (moedata.h): the row-order loops of a `local` function on the whole sample
   (-fit_order rows); for a chunked sample (one rank or a group), the same function on each chunk's
   rows, summed over chunks in their fixed shape (MoeDataGroupSum).  A chunk uses all its rows for the
   Hessian (the chunks' order does not sub-sample it: -fit_hessian_rows takes row order). */
typedef PetscErrorCode (*LocalSum)(MoeFitCtx *, PetscReal *);
typedef struct {
  MoeFitCtx *c;
  LocalSum   fn;
} ChunkCall;

static PetscErrorCode OnChunk(void *ctx, const MoeData *view, PetscReal *out)
{
  ChunkCall     *cc = (ChunkCall *)ctx;
  MoeFitCtx     *c  = cc->c;
  const MoeData *D  = c->D;
  PetscInt       hrows = c->hrows;

  PetscFunctionBegin;
  c->D     = view;
  c->hrows = view->n;
  PetscCall(cc->fn(c, out));
  c->D     = D;
  c->hrows = hrows;
  PetscFunctionReturn(0);
}

static PetscErrorCode SampleSum(MoeFitCtx *c, PetscInt count, LocalSum fn, PetscReal *out)
{
  ChunkCall cc = {c, fn};

  PetscFunctionBegin;
  if (MoeDataChunked(c->D)) PetscCall(MoeDataGroupSum(c->D, c->theta, c->m->p, count, OnChunk, &cc, out));
  else PetscCall(fn(c, out));
  PetscFunctionReturn(0);
}

static PetscErrorCode LocalObjective(MoeFitCtx *c, PetscReal *obj)
{
  PetscInt  r0, nb, rr;
  PetscReal s = 0;

  PetscFunctionBegin;
  for (r0 = 0; r0 < c->D->n; r0 += c->B) {
    nb = PetscMin(c->B, c->D->n - r0);
    PetscCall(FillBlock(c, r0, nb, PETSC_FALSE, PETSC_FALSE));
    for (rr = 0; rr < nb; rr++) s += c->rb[rr] * c->rb[rr];
  }
  *obj = 0.5 * s / c->D->n;
  PetscFunctionReturn(0);
}

static PetscErrorCode FormObjective(Tao tao, Vec X, PetscReal *obj, void *ctx)
{
  MoeFitCtx *c = (MoeFitCtx *)ctx;

  PetscFunctionBegin;
  PetscCall(MoeFitSetPoint(c, X));
  PetscCall(SampleSum(c, 1, LocalObjective, obj));
  PetscFunctionReturn(0);
}

/* out = [f, g]: f = |r|^2/2n and g = J^T r / n (free entries) over blocks of rows: from the blocks'
   factors by GEMM (block evaluation), else from J's rows by GEMV. */
static PetscErrorCode LocalObjectiveGradient(MoeFitCtx *c, PetscReal *out)
{
  MoeModel     m = c->m;
  PetscInt     r0, nb, rr, j;
  PetscReal    s = 0, *g = out + 1, scale = 1.0 / c->D->n;
  PetscBLASInt bpf, bnb, one = 1;
  PetscScalar  sone = 1.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(m->pfree, &bpf));
  PetscCall(PetscArrayzero(g, m->pfree));
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
  for (j = 0; j < m->pfree; j++) g[j] *= scale;
  out[0] = 0.5 * s / c->D->n;
  PetscFunctionReturn(0);
}

static PetscErrorCode FormObjectiveGradient(Tao tao, Vec X, PetscReal *obj, Vec G, void *ctx)
{
  MoeFitCtx   *c = (MoeFitCtx *)ctx;
  PetscScalar *g;

  PetscFunctionBegin;
  PetscCall(MoeFitSetPoint(c, X));
  PetscCall(SampleSum(c, 1 + c->m->pfree, LocalObjectiveGradient, c->fg));
  *obj = c->fg[0];
  PetscCall(VecGetArrayWrite(G, &g));
  PetscCall(PetscArraycpy(g, c->fg + 1, c->m->pfree));
  PetscCall(VecRestoreArrayWrite(G, &g));
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

/* Copy the upper triangle of the pf x pf column-major h to the lower. */
static void FillLower(PetscInt pf, PetscScalar *h)
{
  for (PetscInt j = 0; j < pf; j++)
    for (PetscInt i = j + 1; i < pf; i++) h[i + (size_t)j * pf] = h[j + (size_t)i * pf];
}

/* h = J^T J / n at c->theta (pf x pf, column-major, its upper triangle), over row blocks: dsyrk, or
   with -fit_hessian_single ssyrk on J's rows rounded to float, summed in float over chunks of
   MOE_SINGLE_CHUNK rows and in double across chunks (the objective and gradient stay double). */
#define MOE_SINGLE_CHUNK 4096
static PetscErrorCode AccumulateJTJ(MoeFitCtx *c, PetscScalar *h)
{
  PetscInt     pf = c->m->pfree, r0, nb, rows = c->hrows, inchunk = 0;
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
  PetscFunctionReturn(0);
}

/* A chunk's term of the Hessian's sum: its J^T J / n_c formed in c->Hwork, and its upper triangle packed
   column by column into out (pf (pf + 1) / 2 values: half the scaling, the additions and the messages
   of the full matrix). */
static PetscErrorCode PackedJTJ(MoeFitCtx *c, PetscScalar *out)
{
  PetscInt pf = c->m->pfree;

  PetscFunctionBegin;
  PetscCall(AccumulateJTJ(c, c->Hwork));
  for (PetscInt j = 0; j < pf; j++, out += j) PetscCall(PetscArraycpy(out, c->Hwork + (size_t)j * pf, j + 1));
  PetscFunctionReturn(0);
}

/* h (both triangles) from the packed upper triangle. */
static void UnpackSymmetric(PetscInt pf, const PetscScalar *packed, PetscScalar *h)
{
  for (PetscInt j = 0; j < pf; j++, packed += j)
    for (PetscInt i = 0; i <= j; i++) h[i + (size_t)j * pf] = h[j + (size_t)i * pf] = packed[i];
}

/* h = J^T J / n over the sample: one pass in row order, or the chunks' packed terms summed (SampleSum). */
static PetscErrorCode SampleJTJ(MoeFitCtx *c, PetscScalar *h)
{
  PetscInt pf = c->m->pfree;

  PetscFunctionBegin;
  if (!MoeDataChunked(c->D)) {
    PetscCall(AccumulateJTJ(c, h));
    FillLower(pf, h);
    PetscFunctionReturn(0);
  }
  if (!c->Hwork) PetscCall(PetscMalloc2((size_t)pf * pf, &c->Hwork, (size_t)pf * (pf + 1) / 2, &c->Hpacked));
  PetscCall(SampleSum(c, pf * (pf + 1) / 2, PackedJTJ, c->Hpacked));
  UnpackSymmetric(pf, c->Hpacked, h);
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
  PetscCall(MoeFitSetPoint(c, X));
  PetscCall(MatDenseGetArrayWrite(H, &h));
  PetscCall(SampleJTJ(c, h));
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

/* How far the gradient is from its statistical scale: max_j |g_j| / sqrt(nu H_jj / n), with
   g = J^T r / n and H_jj = sum_r J_rj^2 / n.  At the truth, g_j is a mean of n noise terms with
   exactly that standard deviation; at a minimiser g = 0.  A fit that stops with some g_j
   above it (z > 1) has stalled.  (The Gauss-Newton decrement g^T H^-1 g is no test here: over-
   specified fits have flat directions along which the quadratic model overpredicts the
   decrease many times.) */
/* out = [g, h]: g = J^T r / n and h_j = sum_r J_rj^2 / n. */
static PetscErrorCode LocalGradientScale(MoeFitCtx *c, PetscReal *out)
{
  PetscInt   pf = c->m->pfree, j, r0, nb, rr;
  PetscReal *g = out, *h = out + pf, n = c->D->n;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(out, 2 * pf));
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
  for (j = 0; j < pf; j++) {
    g[j] = g[j] / n;
    h[j] = h[j] / n;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeFitGradientZ(MoeFitCtx *c, PetscReal noise, PetscReal *z)
{
  PetscInt   pf = c->m->pfree, j;
  PetscReal *gh, n = (PetscReal)MoeDataSize(c->D);

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(2 * pf, &gh));
  PetscCall(SampleSum(c, 2 * pf, LocalGradientScale, gh));
  *z = 0;
  for (j = 0; j < pf; j++)
    if (gh[pf + j] > 0) *z = PetscMax(*z, PetscAbsReal(gh[j]) / PetscSqrtReal(noise * gh[pf + j] / n));
  PetscCall(PetscFree(gh));
  PetscFunctionReturn(0);
}

/* The Gauss-Newton route on tao: objective, gradient and H = J^T J / n accumulated over blocks of rows
   (H created here), with Levenberg-Marquardt damping for line-search types. */
PetscErrorCode MoeFitSetUpGaussNewton(Tao tao, MoeFitCtx *c, Mat *H)
{
  PetscFunctionBegin;
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, c->m->pfree, c->m->pfree, NULL, H));
  PetscCall(MatSetOption(*H, MAT_SPD, PETSC_TRUE));
  PetscCall(TaoSetObjective(tao, FormObjective, c));
  PetscCall(TaoSetObjectiveAndGradient(tao, NULL, FormObjectiveGradient, c));
  PetscCall(TaoSetHessian(tao, *H, *H, FormHessian, c));
  if (c->lm) PetscCall(TaoSetUpdate(tao, UpdateDamping, c));
  PetscFunctionReturn(0);
}
