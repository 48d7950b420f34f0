/* The softmax-contaminated MoE (moemodel.h, -model contaminated; arXiv 2505.18455): a frozen base
   density f0 that a fitted Gaussian expert contaminates with an input-dependent weight,
     p(y | x) = (1 - g(x)) f0(y | h0(x), nu0) + g(x) N(y | h(x, eta), nu),
   g the sigmoid gate of the one atom (sigmoid(beta1^T x + beta0): the paper's beta and tau), h the
   expert family's mean, nu > 0 the contamination's variance (the atom's noise parameter: the paper's
   nu, a variance, not a standard deviation as for the Gaussian MoE).  The base is known, not fitted:
   f0 is a Gaussian or a Laplace density with mean h0(x) = h(x, (eta0, 0)) (srelu: outer weight 1) and variance nu0, read
   from -contam_base, -contam_base_eta and -contam_base_nu.  The expert's bias is pinned to 0 (the
   paper's tanh(eta^T x)) unless -contam_expert_bias.
   Its log-density and score use the log-sum-exp of the two components:
     d log p / d eta    = r (y - h) / nu dh/deta,
     d log p / d nu     = r ((y - h)^2 / (2 nu^2) - 1 / (2 nu)),
     d log p / d gating = (phi - f0) / p dg/d(gating) = (r / g - (1 - r) / (1 - g)) dg/d(gating),
   r = g phi / p the posterior probability of the contamination; the last one is the gating family's
   derivative of g h with h := r / g - (1 - r) / (1 - g). */
#include <moe/private/modelimpl.h>
#include <gsl/gsl_randist.h>

#define LOG_SQRT_2PI 0.91893853320467274178

const char *const MoeBaseDensities[] = {"gaussian", "laplace", "MoeBaseDensity", "MOE_BASE_", NULL};

static const MoeFamilyOption ContaminatedOptions[] = {
  {"-contam_base", MOE_OPTION_STRING, "gaussian", "contaminated MoE: the frozen base density f0, gaussian or laplace (mean h(x, (eta0, 0)), variance -contam_base_nu)", "laplace"},
  {"-contam_base_eta", MOE_OPTION_REAL_ARRAY, "1", "contaminated MoE: eta0, the base's expert slopes (d values; default e1 = 1,0,...,0)", NULL},
  {"-contam_base_nu", MOE_OPTION_REAL, "0.001", "contaminated MoE: nu0 > 0, the base's variance", NULL},
  {"-contam_expert_bias", MOE_OPTION_BOOL, "0", "contaminated MoE: fit the contamination expert's bias b (default: pinned to 0, the paper's tanh(eta^T x))", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeFamilyOption *MoeModelOptions(void)
{
  return ContaminatedOptions;
}

/* Read the base from opts (no prefix: the base is known, the same for the truth and the fit). */
PetscErrorCode MoeModelSetUpContaminated(MoeModel m, PetscOptions opts)
{
  MoeBase  *b;
  PetscInt  nd = m->d + 1, j;
  PetscBool set;
  char      name[64] = "gaussian";

  PetscFunctionBegin;
  MoeUserCheck(m->k == 1, "-model contaminated has one contamination atom, not k = %" PetscInt_FMT ": give -k 1 and -kstar 1", m->k);
  MoeUserCheck(m->ne >= m->d + 1, "-model contaminated needs an expert of x through a^T x + b (FFN, linear or srelu), not %s", m->efamily->name);
  PetscCall(PetscNew(&b));
  m->base = b; /* owned by the model from here: freed by MoeModelDestroyBase on any error */
  b->nu   = 0.001;
  PetscCall(PetscCalloc1(m->ne, &b->eta)); /* [eta0 (d) | 1 (srelu's outer weight) | 0 (b, last)] */
  b->eta[0] = 1;
  for (j = m->d; j < m->ne - 1; j++) b->eta[j] = 1;
  PetscCall(PetscOptionsGetString(opts, NULL, "-contam_base", name, sizeof(name), NULL));
  PetscCall(PetscEnumFind(MoeBaseDensities, name, (PetscEnum *)&b->type, &set));
  MoeUserCheck(set, "-contam_base '%s' is not a base density: use gaussian or laplace", name);
  PetscCall(PetscOptionsGetReal(opts, NULL, "-contam_base_nu", &b->nu, NULL));
  MoeUserCheck(b->nu > 0 && PetscIsNormalReal(b->nu), "-contam_base_nu %g must be a variance > 0", (double)b->nu);
  { /* d values exactly: read one more than d so that a longer list is seen */
    PetscReal eta0[1025];
    MoeUserCheck(m->d < 1025, "-model contaminated: d = %" PetscInt_FMT " is more than 1024", m->d);
    PetscCall(PetscOptionsGetRealArray(opts, NULL, "-contam_base_eta", eta0, &nd, &set));
    MoeUserCheck(!set || nd == m->d, "-contam_base_eta has %" PetscInt_FMT "%s values: give d = %" PetscInt_FMT " (the base's expert slopes)", nd, nd > m->d ? " or more" : "", m->d);
    for (j = 0; set && j < m->d; j++) {
      MoeUserCheck(!PetscIsInfOrNanReal(eta0[j]), "-contam_base_eta: every value must be finite");
      b->eta[j] = eta0[j];
    }
  }
  PetscCall(PetscOptionsGetBool(opts, NULL, "-contam_expert_bias", &b->bias, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelDestroyBase(MoeModel m)
{
  PetscFunctionBegin;
  if (!m->base) PetscFunctionReturn(0);
  PetscCall(PetscFree(m->base->eta));
  PetscCall(PetscFree(m->base));
  PetscFunctionReturn(0);
}

/* The expert's bias, the last entry of eta, is pinned unless -contam_expert_bias. */
PetscErrorCode MoeModelPinContaminated(MoeModel m, PetscBool *pin)
{
  PetscFunctionBegin;
  if (!m->base->bias) pin[m->ng + m->ne - 1] = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* "-contam_base laplace -contam_base_eta 1,0 -contam_base_nu 0.001 -contam_expert_bias 0" */
PetscErrorCode MoeModelBaseOptions(MoeModel m, char *buf, size_t len)
{
  char     v[64];
  PetscInt j;

  PetscFunctionBegin;
  buf[0] = 0;
  if (!m->base) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(buf, len, "-contam_base %s -contam_base_eta ", MoeBaseDensities[m->base->type]));
  for (j = 0; j < m->d; j++) {
    PetscCall(PetscSNPrintf(v, sizeof(v), "%s%.17g", j ? "," : "", (double)m->base->eta[j]));
    PetscCall(PetscStrlcat(buf, v, len));
  }
  PetscCall(PetscSNPrintf(v, sizeof(v), " -contam_base_nu %.17g -contam_expert_bias %d", (double)m->base->nu, (int)m->base->bias));
  PetscCall(PetscStrlcat(buf, v, len));
  PetscCheck(strlen(buf) + 1 < len, PETSC_COMM_SELF, PETSC_ERR_SUP, "the contaminated MoE's base options need more than %zu characters (d = %" PetscInt_FMT ")", len - 1, m->d);
  PetscFunctionReturn(0);
}

/* log f0(y | h0(x), nu0) and h0(x). */
static PetscErrorCode BaseLogDensity(MoeModel m, const PetscReal *x, PetscReal y, PetscReal *lf0, PetscReal *h0)
{
  const MoeBase *b = m->base;

  PetscFunctionBegin;
  PetscCall((*m->expert->ops.evaluate)(m->expert, b->eta, x, h0, NULL));
  if (b->type == MOE_BASE_GAUSSIAN) {
    PetscReal z = (y - *h0) / PetscSqrtReal(b->nu);
    *lf0        = -LOG_SQRT_2PI - 0.5 * PetscLogReal(b->nu) - 0.5 * z * z;
  } else { /* Laplace with variance nu0: scale s = sqrt(nu0 / 2) */
    PetscReal s = PetscSqrtReal(0.5 * b->nu);
    *lf0        = -PetscLogReal(2 * s) - PetscAbsReal(y - *h0) / s;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelLogDensity_Contaminated(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal y, PetscReal *logp, PetscReal *grad)
{
  const PetscReal *eta = theta + m->ng;
  PetscReal        nu  = theta[m->ng + m->ne], zero = 0, f, g, h, h0, lf0 = 0, l0, l1, shift, r, e, psi;
  PetscInt         j;

  PetscFunctionBegin;
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, &zero, &f, m->gate, NULL));
  g = m->gate[0];
  PetscCall((*m->expert->ops.evaluate)(m->expert, eta, x, &h, grad ? m->dh : NULL));
  PetscCall(BaseLogDensity(m, x, y, &lf0, &h0));
  e     = y - h;
  l1    = g > 0 ? PetscLogReal(g) - LOG_SQRT_2PI - 0.5 * PetscLogReal(nu) - 0.5 * e * e / nu : PETSC_NINFINITY;
  l0    = g < 1 ? log1p(-g) + lf0 : PETSC_NINFINITY;
  shift = PetscMax(l0, l1);
  *logp = shift + PetscLogReal((l0 > PETSC_NINFINITY ? PetscExpReal(l0 - shift) : 0) + (l1 > PETSC_NINFINITY ? PetscExpReal(l1 - shift) : 0));
  if (!grad) PetscFunctionReturn(0);
  r = l1 > PETSC_NINFINITY ? PetscExpReal(l1 - *logp) : 0;
  /* phi/p - f0/p, each capped where its gate is (sub)normal-tiny: dg's own factor g(1 - g) makes the product finite */
  psi = (g > 0 ? PetscMin(r / g, 1e300) : 0) - (g < 1 ? PetscMin((1 - r) / (1 - g), 1e300) : 0);
  PetscCall(PetscArrayzero(grad, m->p));
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, &psi, &f, m->gate, grad));
  for (j = 0; j < m->ne; j++) grad[m->ng + j] = r * e / nu * m->dh[j];
  grad[m->ng + m->ne] = r * (0.5 * e * e / (nu * nu) - 0.5 / nu);
  for (j = 0; j < m->p; j++)
    if (m->pinned[j]) grad[j] = 0;
  PetscFunctionReturn(0);
}

/* Y | X = x: the contamination with probability g(x) (one uniform draw), else the base. */
PetscErrorCode MoeModelDrawContaminated(MoeModel m, const PetscReal *theta, const PetscReal *x, void *ctx, PetscReal *y)
{
  gsl_rng  *rng  = (gsl_rng *)ctx;
  PetscReal zero = 0, f, u = gsl_rng_uniform(rng), h;

  PetscFunctionBegin;
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, &zero, &f, m->gate, NULL));
  if (u < m->gate[0]) {
    PetscCall((*m->expert->ops.evaluate)(m->expert, theta + m->ng, x, &h, NULL));
    *y = h + gsl_ran_gaussian_ziggurat(rng, PetscSqrtReal(theta[m->ng + m->ne]));
  } else {
    PetscCall((*m->expert->ops.evaluate)(m->expert, m->base->eta, x, &h, NULL));
    if (m->base->type == MOE_BASE_GAUSSIAN) *y = h + gsl_ran_gaussian_ziggurat(rng, PetscSqrtReal(m->base->nu));
    else *y = h + gsl_ran_laplace(rng, PetscSqrtReal(0.5 * m->base->nu));
  }
  PetscFunctionReturn(0);
}
