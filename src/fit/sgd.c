/* P1's estimator for its Figure 1: minibatch stochastic gradient descent on the least-squares
   objective (1/2n) sum_r (Y_r - f(X_r))^2, from a given start.  Each epoch visits the rows in an
   order drawn from stream (seed, SGD, n, replicate, epoch) and steps, for every batch b of
   -sgd_batch rows (the last one may be smaller),

       theta <- theta - lr (1/|b|) sum_{r in b} (f(X_r) - Y_r) df/dtheta(X_r)

   on the free parameters; bounded ones (a temperature) are kept at their bound if a step would
   leave it.  The result is deterministic like every other fit. */
#include <moefit.h>
#include <gsl/gsl_randist.h>

/* The full gradient of the objective over the free parameters and its norm. */
static PetscErrorCode FullGradientNorm(MoeModel m, const MoeData *D, const PetscReal *theta, PetscReal *row, PetscReal *g, PetscReal *gnorm)
{
  PetscInt  r, j;
  PetscReal f, s = 0;

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(g, m->p));
  for (r = 0; r < D->n; r++) {
    PetscCall(MoeModelEvaluateRow(m, theta, D->X + (size_t)r * D->d, &f, row));
    for (j = 0; j < m->p; j++) g[j] += (f - D->Y[r]) * row[j] / D->n;
  }
  for (j = 0; j < m->pfree; j++) s += g[m->ifree[j]] * g[m->ifree[j]];
  *gnorm = PetscSqrtReal(s);
  PetscFunctionReturn(0);
}

static PetscBool AllFinite(PetscInt p, const PetscReal *theta)
{
  for (PetscInt j = 0; j < p; j++)
    if (PetscIsInfOrNanReal(theta[j])) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* One epoch: the row order of stream (seed, SGD, n, replicate, epoch), then a step per batch. */
static PetscErrorCode Epoch(const MoeSGDParams *sp, MoeModel m, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt epoch, PetscBool inject_nan, const PetscReal *lower, size_t *order, PetscReal *row, PetscReal *g, PetscReal *theta, PetscInt *steps)
{
  gsl_rng *rng;
  PetscInt r0, rr, j;

  PetscFunctionBegin;
  for (rr = 0; rr < D->n; rr++) order[rr] = (size_t)rr;
  PetscCall(MoeRngCreate(sp->seed, MOE_STREAM_SGD, n, replicate, epoch, &rng));
  gsl_ran_shuffle(rng, order, (size_t)D->n, sizeof(size_t));
  gsl_rng_free(rng);
  for (r0 = 0; r0 < D->n; r0 += sp->batch) {
    PetscInt nb = PetscMin(sp->batch, D->n - r0);
    PetscCall(PetscArrayzero(g, m->p));
    for (rr = 0; rr < nb; rr++) {
      size_t    r = order[r0 + rr];
      PetscReal f, res;
      PetscCall(MoeModelEvaluateRow(m, theta, D->X + r * D->d, &f, row));
      res = inject_nan ? MOE_NAN : f - D->Y[r];
      for (j = 0; j < m->p; j++) g[j] += res * row[j];
    }
    for (j = 0; j < m->pfree; j++) {
      PetscInt i = m->ifree[j];
      theta[i] -= sp->lr * g[i] / nb;
      if (theta[i] < lower[i]) theta[i] = lower[i];
    }
    (*steps)++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeFitSGD(const MoeSGDParams *sp, MoeModel m, const MoeData *D, const PetscReal *theta0, PetscInt64 n, PetscInt64 replicate, PetscBool inject_nan, PetscReal *theta, MoeFitResult *res)
{
  PetscReal     *row, *g, *lower;
  size_t        *order;
  PetscInt       epoch, steps = 0;
  PetscLogDouble t0 = MoeWallTime();

  PetscFunctionBegin;
  PetscCall(PetscMemzero(res, sizeof(*res)));
  res->gradient_z = MOE_NAN;
  PetscCall(PetscMalloc4(m->p, &row, m->p, &g, m->p, &lower, D->n, &order));
  PetscCall(MoeModelLowerBounds(m, lower));
  PetscCall(PetscArraycpy(theta, theta0, m->p));
  res->status = MOE_FIT_CONVERGED;
  res->reason = MOE_REASON_EPOCHS;
  for (epoch = 0; epoch < sp->epochs; epoch++) {
    if (MoeFitInterrupted()) { /* abandoned: the task is run again */
      res->status = MOE_FIT_PENDING;
      break;
    }
    PetscCall(Epoch(sp, m, D, n, replicate, epoch, inject_nan, lower, order, row, g, theta, &steps));
    if (!AllFinite(m->p, theta)) {
      res->status = MOE_FIT_FAILED;
      res->reason = MOE_REASON_ERROR;
      PetscCall(PetscSNPrintf(res->message, sizeof(res->message), "SGD diverged: non-finite parameters after epoch %" PetscInt_FMT " (learning rate -sgd_lr %g)", epoch, (double)sp->lr));
      break;
    }
  }
  res->iterations = steps;
  if (res->status == MOE_FIT_PENDING) res->objective = res->gnorm = MOE_NAN;
  else {
    PetscCall(MoeFitObjective(m, D, theta, &res->objective));
    PetscCall(FullGradientNorm(m, D, theta, row, g, &res->gnorm));
  }
  res->time = MoeWallTime() - t0;
  PetscCall(PetscFree4(row, g, lower, order));
  PetscFunctionReturn(0);
}
