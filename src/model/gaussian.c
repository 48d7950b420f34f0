/* The Gaussian mixture of experts (moemodel.h, -model gaussian): Y | X = x has density
     p(y | x) = sum_i g_i(x) phi(y; h_i(x), sigma_i^2),
   with the gates g of the gating family and the expert means h of the expert family.  Its
   log-density and score are computed with the log-sum-exp shift, so that a point far in the
   tails of every expert does not underflow:
     d log p / d eta_i   = r_i (y - h_i) / sigma_i^2 dh_i/deta_i,
     d log p / d sigma_i = r_i ((y - h_i)^2 / sigma_i^3 - 1 / sigma_i),
     d log p / d gating  = sum_i (phi_i / p) dg_i/d(gating),
   r_i = g_i phi_i / p the responsibilities, all computed from log(g_i phi_i) shifted by its
   largest value, so that neither a far point nor a tiny gate (an annealed top-K mask) overflows.  The last one is the gating family's own derivative
   of sum_i g_i h_i with h_i := phi_i / p, so every gating family serves the Gaussian MoE as it is. */
#include <moe/private/modelimpl.h>

#define LOG_SQRT_2PI 0.91893853320467274178

PetscErrorCode MoeModelComponents(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal *gate, PetscReal *mean)
{
  PetscReal f;

  PetscFunctionBegin;
  PetscCall(MoeModelEvaluate(m, theta, x, &f));
  PetscCall(PetscArraycpy(gate, m->gate, m->k));
  PetscCall(PetscArraycpy(mean, m->h, m->k));
  PetscFunctionReturn(0);
}

/* lphi[i] = log(g_i(x) phi(y; h_i(x), sigma_i^2)) (-inf where a gate is 0), the gates in m->gate
   and the means in m->h; logp = log p(y | x) by the log-sum-exp shift. */
static PetscErrorCode LogJoint(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *lphi, PetscReal *logp)
{
  PetscInt  i, k = m->k;
  PetscReal f, shift = PETSC_NINFINITY, ptilde = 0, psi[MOE_MAX_FAMILIES * 4];

  PetscFunctionBegin;
  PetscCheck(m->ns == 1 && !m->base, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the mixture's joint density needs the Gaussian MoE (-model gaussian)");
  PetscCheck(k <= MOE_MAX_FAMILIES * 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "more than %d atoms", MOE_MAX_FAMILIES * 4);
  for (i = 0; i < k; i++) PetscCall(MoeModelExpertEvaluate(m, i, theta + i * m->stride + m->ng, x, &m->h[i], NULL));
  PetscCall(PetscArrayzero(psi, k));
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, psi, &f, m->gate, NULL)); /* the gates */
  for (i = 0; i < k; i++) { /* log(g_i phi_i), shifted by its largest value */
    PetscReal sigma = theta[i * m->stride + m->ng + m->ne], z = (y - m->h[i]) / sigma;
    lphi[i] = m->gate[i] > 0 ? PetscLogReal(m->gate[i]) - LOG_SQRT_2PI - PetscLogReal(sigma) - 0.5 * z * z : PETSC_NINFINITY;
    shift   = PetscMax(shift, lphi[i]);
  }
  for (i = 0; i < k; i++) ptilde += m->gate[i] > 0 ? PetscExpReal(lphi[i] - shift) : 0;
  *logp = shift + PetscLogReal(ptilde);
  PetscFunctionReturn(0);
}

/* The score d log p(y | x) / d theta (full layout) from LogJoint's lphi and logp at the same point. */
static PetscErrorCode Score(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal y, const PetscReal *lphi, PetscReal logp, PetscReal *grad)
{
  PetscInt  i, j, k = m->k;
  PetscReal f, psi[MOE_MAX_FAMILIES * 4], *dh = m->dh;

  PetscFunctionBegin;
  /* phi_i / p = r_i / g_i, r_i the responsibility: capped where a gate is (sub)normal-tiny, whose
     own factor g_i in the gating derivative makes the product r_i-sized anyway */
  for (i = 0; i < k; i++) psi[i] = m->gate[i] > 0 ? PetscMin(PetscExpReal(lphi[i] - logp) / m->gate[i], 1e300) : 0;
  PetscCall(PetscArrayzero(grad, m->p));
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, psi, &f, m->gate, grad));
  for (i = 0; i < k; i++) {
    PetscReal *gi = grad + i * m->stride, sigma = theta[i * m->stride + m->ng + m->ne], h;
    PetscReal  r = m->gate[i] > 0 ? PetscExpReal(lphi[i] - logp) : 0, e = y - m->h[i];
    PetscCall(MoeModelExpertEvaluate(m, i, theta + i * m->stride + m->ng, x, &h, dh));
    for (j = 0; j < m->ne; j++) gi[m->ng + j] = r * e / (sigma * sigma) * dh[j];
    gi[m->ng + m->ne] = r * (e * e / (sigma * sigma * sigma) - 1.0 / sigma);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelLogDensity(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *logp, PetscReal *grad)
{
  PetscReal lphi[MOE_MAX_FAMILIES * 4];

  PetscFunctionBegin;
  if (m->base) {
    PetscCall(MoeModelLogDensity_Contaminated(m, theta, x, y, logp, grad));
    PetscFunctionReturn(0);
  }
  PetscCall(LogJoint(m, theta, x, y, lphi, logp));
  if (grad) PetscCall(Score(m, theta, x, y, lphi, *logp, grad));
  PetscFunctionReturn(0);
}

/* EM's E-step at (x, y): resp[i] = g_i phi_i / p, the posterior probability of expert i, log p and,
   with grad, the score, from one evaluation of the model. */
PetscErrorCode MoeModelResponsibilities(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *resp, PetscReal *logp, PetscReal *grad)
{
  PetscReal lphi[MOE_MAX_FAMILIES * 4];

  PetscFunctionBegin;
  PetscCall(LogJoint(m, theta, x, y, lphi, logp));
  for (PetscInt i = 0; i < m->k; i++) resp[i] = m->gate[i] > 0 ? PetscExpReal(lphi[i] - *logp) : 0;
  if (grad) PetscCall(Score(m, theta, x, y, lphi, *logp, grad));
  PetscFunctionReturn(0);
}

/* The gating part of EM's expected complete log-likelihood at x: q = sum_i w_i log g_i(x) for the
   weights w (responsibilities from an earlier theta; -inf when an expert with weight loses its
   gate) and, with grad, its derivative in the gating parameters: the gating family's derivative of
   sum_i g_i h_i with h_i := w_i / g_i.  Only grad's gating entries (and globals) are written. */
PetscErrorCode MoeModelGatingLogLikelihood(MoeModel m, const PetscReal *theta, const PetscReal *x, const PetscReal *w, PetscReal *q, PetscReal *grad)
{
  PetscInt  i, k = m->k;
  PetscReal f, psi[MOE_MAX_FAMILIES * 4];

  PetscFunctionBegin;
  PetscCheck(k <= MOE_MAX_FAMILIES * 4, PETSC_COMM_SELF, PETSC_ERR_SUP, "more than %d atoms", MOE_MAX_FAMILIES * 4);
  PetscCall(PetscArrayzero(psi, k));
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, psi, &f, m->gate, NULL));
  *q = 0;
  for (i = 0; i < k; i++) {
    if (w[i] <= 0) continue;
    *q += m->gate[i] > 0 ? w[i] * PetscLogReal(m->gate[i]) : PETSC_NINFINITY;
  }
  if (!grad) PetscFunctionReturn(0);
  for (i = 0; i < k; i++) psi[i] = m->gate[i] > 0 ? PetscMin(w[i] / m->gate[i], 1e300) : 0;
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, psi, &f, m->gate, grad));
  PetscFunctionReturn(0);
}

/* Expert i's mean h(x, eta_i) and, with dh, its derivative in eta_i (m->ne entries). */
PetscErrorCode MoeModelExpertMean(MoeModel m, const PetscReal *theta, PetscInt i, const PetscReal *x, PetscReal *h, PetscReal *dh)
{
  PetscFunctionBegin;
  PetscCall(MoeModelExpertEvaluate(m, i, theta + i * m->stride + m->ng, x, h, dh));
  PetscFunctionReturn(0);
}

/* ll = (1/n) sum_r log p(Y_r | X_r) and, with grad, its gradient (full layout). */
PetscErrorCode MoeModelLogLikelihood(MoeModel m, const PetscReal *theta, PetscInt n, const PetscReal *X, const PetscReal *Y, PetscReal *ll, PetscReal *grad)
{
  PetscReal *row = NULL, lp, s = 0;
  PetscInt   r, j;

  PetscFunctionBegin;
  if (grad) {
    PetscCall(PetscMalloc1(m->p, &row));
    PetscCall(PetscArrayzero(grad, m->p));
  }
  for (r = 0; r < n; r++) {
    PetscCall(MoeModelLogDensity(m, theta, X + (size_t)r * m->d, Y[r], &lp, row));
    s += lp;
    if (grad)
      for (j = 0; j < m->p; j++) grad[j] += row[j] / n;
  }
  *ll = s / n;
  PetscCall(PetscFree(row));
  PetscFunctionReturn(0);
}
