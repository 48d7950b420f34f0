/* Maximum likelihood for the Gaussian MoE by EM (the estimator em; the estimator mle maximises the
   same likelihood with TAO directly, src/fit/mle.c).  One iteration from theta:
     E-step   r_ri = g_i(X_r) phi(Y_r; h_i(X_r), sigma_i^2) / p(Y_r | X_r), the responsibilities;
     M-step   (a conditional maximisation of the expected complete log-likelihood, so the
              likelihood never decreases)
              experts: eta_i = argmin sum_r r_ri (Y_r - h(X_r, eta_i))^2, weighted Gauss-Newton with
                       step halving (one exact step for experts linear in eta, the classical
                       closed form; a few for FFN experts);
              sigma_i^2 = sum_r r_ri (Y_r - h_ri)^2 / sum_r r_ri, at least MOE_SIGMA_MIN^2;
              gating:  argmax (1/n) sum_r sum_i r_ri log g_i(X_r), the weighted multinomial
                       log-likelihood, by TAO (bqnls, prefix -em_gating_, at most 100 iterations
                       from the current gating: a partial M-step is still an ascent).
   It stops when the score is as small as mle's test asks (1e-4/sqrt(n)) (converged), when the
   likelihood no longer rises at machine precision with a larger score (a fixed point of EM that is
   not stationary: stalled, failed), or after -em_max_it iterations (failed).  An expert without responsibility anywhere keeps its parameters.  A top-K gating is
   annealed as for mle (MoeFitAnnealed): plain EM cannot move a hard selection. */
#include <moefit.h>
#include <petscblaslapack.h>

typedef struct {
  MoeModel       m;
  const MoeData *D;
  const PetscReal *R;      /* n x k responsibilities */
  PetscReal     *theta;    /* full vector: the gating entries are TAO's, the rest fixed */
  PetscReal     *row;      /* gradient of one row (full layout) */
  PetscInt       ngate, *igate; /* free gating entries (and globals) in the full vector */
} EMGating;

static PetscErrorCode FormGatingObjective(Tao tao, Vec X, PetscReal *f, Vec G, void *ctx)
{
  EMGating          *c = (EMGating *)ctx;
  MoeModel           m = c->m;
  const PetscScalar *x;
  PetscScalar       *g;
  PetscReal          q, s = 0;
  PetscInt           r, j, n = c->D->n;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  for (j = 0; j < c->ngate; j++) c->theta[c->igate[j]] = x[j];
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(VecGetArrayWrite(G, &g));
  for (j = 0; j < c->ngate; j++) g[j] = 0;
  for (r = 0; r < n; r++) {
    PetscCall(MoeModelGatingLogLikelihood(m, c->theta, c->D->X + (size_t)r * m->d, c->R + (size_t)r * m->k, &q, c->row));
    s += q;
    for (j = 0; j < c->ngate; j++) g[j] -= c->row[c->igate[j]] / n;
  }
  /* an expert that holds responsibility lost its gate (a hard selection): a wall the line search backs off from */
  *f = PetscIsInfOrNanReal(s) ? 1e100 : -s / n;
  PetscCall(VecRestoreArrayWrite(G, &g));
  PetscFunctionReturn(0);
}

/* The gating M-step: TAO from the current gating entries of theta, which receive the result when
   it raises the weighted log-likelihood (else they stay: EM stays monotone). */
static PetscErrorCode GatingMStep(MoeModel m, const MoeData *D, const PetscReal *R, const PetscReal *lower, PetscReal *theta)
{
  EMGating           c = {m, D, R, theta, NULL, 0, NULL};
  Tao                tao;
  Vec                x, g, lo, hi, xs;
  PetscScalar       *xa, *la;
  PetscReal          f0, f1, *start;
  PetscInt           j, i;
  PetscErrorCode     ierr;

  PetscFunctionBegin;
  PetscCall(PetscMalloc3(m->p, &c.row, m->pfree, &c.igate, m->pfree, &start));
  PetscCall(PetscArrayzero(c.row, m->p));
  for (j = 0; j < m->pfree; j++) {
    i = m->ifree[j];
    if (i >= m->k * m->stride || i % m->stride < m->ng) c.igate[c.ngate++] = i;
  }
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, c.ngate, &x));
  PetscCall(VecDuplicate(x, &g));
  PetscCall(VecDuplicate(x, &lo));
  PetscCall(VecDuplicate(x, &hi));
  PetscCall(VecSet(hi, PETSC_INFINITY));
  PetscCall(VecGetArrayWrite(x, &xa));
  PetscCall(VecGetArrayWrite(lo, &la));
  for (j = 0; j < c.ngate; j++) start[j] = xa[j] = theta[c.igate[j]], la[j] = lower[c.igate[j]];
  PetscCall(VecRestoreArrayWrite(lo, &la));
  PetscCall(VecRestoreArrayWrite(x, &xa));
  PetscCall(TaoCreate(PETSC_COMM_SELF, &tao));
  PetscCall(TaoSetOptionsPrefix(tao, "em_gating_"));
  PetscCall(TaoSetType(tao, TAOBQNLS));
  PetscCall(TaoSetTolerances(tao, 1e-4 / PetscSqrtReal((PetscReal)D->n), 0.0, 0.0));
  PetscCall(TaoSetMaximumIterations(tao, 100));
  PetscCall(TaoSetFromOptions(tao));
  PetscCall(TaoSetObjectiveAndGradient(tao, NULL, FormGatingObjective, &c));
  PetscCall(TaoSetVariableBounds(tao, lo, hi));
  PetscCall(FormGatingObjective(tao, x, &f0, g, &c));
  PetscCall(TaoSetSolution(tao, x));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL)); /* a failed solve keeps the start */
  ierr = TaoSolve(tao);
  PetscCall(PetscPopErrorHandler());
  PetscCall(TaoGetSolution(tao, &xs));
  PetscCall(FormGatingObjective(tao, xs, &f1, g, &c)); /* sets theta's gating entries to the solution */
  if (ierr || !(f1 <= f0))
    for (j = 0; j < c.ngate; j++) theta[c.igate[j]] = start[j];
  PetscCall(TaoDestroy(&tao));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&g));
  PetscCall(VecDestroy(&lo));
  PetscCall(VecDestroy(&hi));
  PetscCall(PetscFree3(c.row, c.igate, start));
  PetscFunctionReturn(0);
}

/* sum_r w_r (Y_r - h(X_r, eta))^2 of expert `atom` with eta as in theta */
static PetscErrorCode WeightedSSE(MoeModel m, const MoeData *D, const PetscReal *R, PetscInt atom, const PetscReal *theta, PetscReal *sse)
{
  PetscReal h;

  PetscFunctionBegin;
  *sse = 0;
  for (PetscInt r = 0; r < D->n; r++) {
    PetscCall(MoeModelExpertMean(m, theta, atom, D->X + (size_t)r * m->d, &h, NULL));
    *sse += R[(size_t)r * m->k + atom] * (D->Y[r] - h) * (D->Y[r] - h);
  }
  PetscFunctionReturn(0);
}

/* The expert M-step of one atom: weighted Gauss-Newton on eta_i with step halving, then sigma_i. */
static PetscErrorCode ExpertMStep(MoeModel m, const MoeData *D, const PetscReal *R, PetscInt atom, PetscReal *theta)
{
  PetscInt     ne = m->ne, it, a, b, r, half;
  PetscReal   *eta = theta + atom * m->stride + m->ng, *A, *rhs, *dh, *save, h, w, wsum = 0, sse, trial;
  PetscBLASInt bn, one = 1, info;

  PetscFunctionBegin;
  for (r = 0; r < D->n; r++) wsum += R[(size_t)r * m->k + atom];
  if (!(wsum > 0)) PetscFunctionReturn(0); /* no responsibility anywhere: nothing to estimate from */
  PetscCall(PetscBLASIntCast(ne, &bn));
  PetscCall(PetscMalloc4(ne * ne, &A, ne, &rhs, ne, &dh, ne, &save));
  PetscCall(WeightedSSE(m, D, R, atom, theta, &sse));
  for (it = 0; it < 50; it++) {
    PetscCall(PetscArrayzero(A, ne * ne));
    PetscCall(PetscArrayzero(rhs, ne));
    for (r = 0; r < D->n; r++) {
      w = R[(size_t)r * m->k + atom];
      if (w <= 0) continue;
      PetscCall(MoeModelExpertMean(m, theta, atom, D->X + (size_t)r * m->d, &h, dh));
      for (a = 0; a < ne; a++) {
        rhs[a] += w * dh[a] * (D->Y[r] - h);
        for (b = 0; b <= a; b++) A[a * ne + b] += w * dh[a] * dh[b];
      }
    }
    for (a = 0; a < ne; a++) A[a * ne + a] *= 1 + 1e-12; /* a whisker of damping: a flat ReLU piece is singular */
    PetscCallBLAS("LAPACKpotrf", LAPACKpotrf_("U", &bn, A, &bn, &info)); /* row-major lower = column-major upper */
    if (info) break;
    PetscCallBLAS("LAPACKpotrs", LAPACKpotrs_("U", &bn, &one, A, &bn, rhs, &bn, &info));
    if (info) break;
    PetscCall(PetscArraycpy(save, eta, ne));
    for (half = 0; half < 30; half++) {
      for (a = 0; a < ne; a++) eta[a] = save[a] + rhs[a];
      PetscCall(WeightedSSE(m, D, R, atom, theta, &trial));
      if (trial <= sse) break;
      for (a = 0; a < ne; a++) rhs[a] *= 0.5;
    }
    if (!(trial <= sse)) { /* no descent along the Gauss-Newton direction: eta stays */
      PetscCall(PetscArraycpy(eta, save, ne));
      break;
    }
    if (sse - trial <= 1e-13 * sse) { sse = trial; break; }
    sse = trial;
  }
  theta[atom * m->stride + m->ng + ne] = PetscMax(PetscSqrtReal(sse / wsum), MOE_SIGMA_MIN);
  PetscCall(PetscFree4(A, rhs, dh, save));
  PetscFunctionReturn(0);
}

/* The M-step from theta (in place) with the E-step's responsibilities R at theta. */
static PetscErrorCode MStep(MoeModel m, const MoeData *D, const PetscReal *lower, const PetscReal *R, PetscReal *theta)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < m->k; i++) PetscCall(ExpertMStep(m, D, R, i, theta));
  PetscCall(GatingMStep(m, D, R, lower, theta));
  PetscFunctionReturn(0);
}

/* The E-step at theta in one pass over the data: the responsibilities R, the mean log-likelihood and
   the norm of its score over the free parameters (the stopping test); grad and row: p-vectors. */
static PetscErrorCode EStep(MoeModel m, const MoeData *D, const PetscReal *theta, PetscReal *R, PetscReal *grad, PetscReal *row, PetscReal *ll, PetscReal *gnorm)
{
  PetscReal lp, s = 0;
  PetscInt  r, j;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(grad, m->p));
  for (r = 0; r < D->n; r++) { /* summed as MoeModelLogLikelihood sums */
    PetscCall(MoeModelResponsibilities(m, theta, D->X + (size_t)r * m->d, D->Y[r], R + (size_t)r * m->k, &lp, row));
    s += lp;
    for (j = 0; j < m->p; j++) grad[j] += row[j] / D->n;
  }
  *ll = s / D->n;
  s   = 0;
  for (j = 0; j < m->pfree; j++) s += grad[m->ifree[j]] * grad[m->ifree[j]];
  *gnorm = PetscSqrtReal(s);
  PetscFunctionReturn(0);
}

/* EM from theta0 at the model's selection as it is. */
static PetscErrorCode SolveEM(const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscReal     *R, *grad, *row, *lower, *prev, ll, llnew, gnorm = MOE_NAN, gnew, gatol = 1e-4 / PetscSqrtReal((PetscReal)D->n);
  PetscInt       it;
  PetscLogDouble t0 = MoeWallTime();

  PetscFunctionBegin;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  res->gradient_z = MOE_NAN;
  PetscCall(PetscMalloc5((size_t)D->n * m->k, &R, m->p, &grad, m->p, &row, m->p, &lower, m->p, &prev));
  PetscCall(MoeModelLowerBounds(m, lower));
  PetscCall(PetscArraycpy(theta, theta0, m->p));
  PetscCall(EStep(m, D, theta, R, grad, row, &ll, &gnorm));
  for (it = 0;; it++) {
    if (PetscIsInfOrNanReal(ll) || inject_nan) {
      res->reason = MOE_REASON_ERROR;
      PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "the log-likelihood is not finite at some iterate"));
      break;
    }
    if (gnorm <= gatol) {
      res->reason = TAO_CONVERGED_GATOL;
      break;
    }
    if (MoeFitInterrupted()) {
      res->reason = 0;
      break;
    }
    if (it >= fp->em_max_it) {
      res->reason = TAO_DIVERGED_MAXITS;
      break;
    }
    PetscCall(PetscArraycpy(prev, theta, m->p));
    PetscCall(MStep(m, D, lower, R, theta));
    PetscCall(EStep(m, D, theta, R, grad, row, &llnew, &gnew)); /* the next iteration's E-step */
    if (!(llnew > ll + 1e-15 * PetscAbsReal(ll))) {
      /* no increase at machine precision: a fixed point of EM, stationary only if the score says so (a
         hard top-K selection the gating step cannot move, a ReLU kink); a rounding decrease is undone */
      if (llnew < ll) PetscCall(PetscArraycpy(theta, prev, m->p));
      else ll = llnew, gnorm = gnew;
      it++;
      res->reason = gnorm <= gatol ? TAO_CONVERGED_GATOL : MOE_REASON_STALLED;
      break;
    }
    ll = llnew, gnorm = gnew;
  }
  res->iterations = it;
  res->gnorm      = gnorm;
  res->objective  = inject_nan ? MOE_NAN : -ll;
  res->status     = res->reason > 0 ? MOE_FIT_CONVERGED : MOE_FIT_FAILED;
  if (PetscIsInfOrNanReal(res->objective)) res->status = MOE_FIT_FAILED, res->reason = MOE_REASON_ERROR;
  if (res->reason == 0) res->status = MOE_FIT_PENDING;
  res->time = MoeWallTime() - t0;
  PetscCall(PetscFree5(R, grad, row, lower, prev));
  PetscFunctionReturn(0);
}

/* One EM fit from theta0 (annealed through the selection for top-K gating, as mle). */
PetscErrorCode MoeFitEM(const MoeFitParams *fp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscFunctionBegin;
  PetscCall(MoeFitAnnealed(SolveEM, fp, m, D, theta0, inject_nan, theta, res));
  PetscFunctionReturn(0);
}
