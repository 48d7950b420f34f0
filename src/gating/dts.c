/* Dense-to-sparse softmax gating [P2]: gate = softmax(s / tau), s_i = beta1_i^T x + beta0_i,
   temperature tau > 0.  Options: -<prefix>dts_tau (default 1), -<prefix>dts_fit_tau
   (fit tau as a parameter; it is then the single gating global, theta[k*stride], and its
   value from -dts_tau is the initial value of a random start).  The last atom is pinned. */
#include <moe/private/modelimpl.h>

typedef struct {
  PetscReal tau;
  PetscBool fit;
} MoeGating_DTS;

static PetscErrorCode MoeGatingScores_DTS(MoeGating g, const PetscReal *glob, const PetscReal *s, const PetscReal *h, PetscReal *f, PetscReal *gate, PetscReal *dfds, PetscReal *dglob)
{
  MoeGating_DTS *dts = (MoeGating_DTS *)g->data;
  PetscInt       i;
  PetscReal      sum = 0, tau = dts->fit ? glob[0] : dts->tau;

  PetscFunctionBegin;
  for (i = 0; i < g->k; i++) gate[i] = s[i] / tau;
  MoeSoftmax(g->k, gate, gate);
  for (i = 0; i < g->k; i++) sum += gate[i] * h[i];
  *f = sum;
  if (dfds) { /* with z_i = s_i/tau: df/dz_i = gate_i (h_i - f); df/dtau = -sum_i df/dz_i z_i / tau */
    PetscReal dtau = 0;
    for (i = 0; i < g->k; i++) {
      PetscReal dfdz = gate[i] * (h[i] - sum);
      dfds[i] = dfdz / tau;
      dtau -= dfdz * s[i] / (tau * tau);
    }
    if (dts->fit && dglob) dglob[0] = dtau;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingSetFromOptions_DTS(MoeGating g, PetscOptions opts, const char prefix[])
{
  MoeGating_DTS *dts = (MoeGating_DTS *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetReal(opts, prefix, "-dts_tau", &dts->tau, NULL));
  PetscCall(PetscOptionsGetBool(opts, prefix, "-dts_fit_tau", &dts->fit, NULL));
  MoeUserCheck(dts->tau > 0 && PetscIsNormalReal(dts->tau), "-%sdts_tau %g is not a positive number: the temperature must be > 0", prefix ? prefix : "", (double)dts->tau);
  g->nglobal = dts->fit ? 1 : 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingInitGlobals_DTS(MoeGating g, void *rng, PetscReal var1, PetscReal var0, PetscReal *glob)
{
  MoeGating_DTS *dts = (MoeGating_DTS *)g->data;

  PetscFunctionBegin;
  if (dts->fit) glob[0] = dts->tau;
  PetscFunctionReturn(0);
}

/* A fitted temperature starts at the truth's temperature. */
static PetscErrorCode MoeGatingEmbedGlobals_DTS(MoeGating fit, MoeGating truth, const PetscReal *tglob, const PetscInt *map, PetscReal *glob)
{
  MoeGating_DTS *t = (MoeGating_DTS *)truth->data;

  PetscFunctionBegin;
  if (fit->nglobal) glob[0] = truth->nglobal ? tglob[0] : t->tau;
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingGlobalBounds_DTS(MoeGating g, PetscReal *lower)
{
  PetscFunctionBegin;
  if (g->nglobal) lower[0] = 1e-6; /* the temperature stays positive */
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingDescribe_DTS(MoeGating g, char *buf, size_t len)
{
  MoeGating_DTS *dts = (MoeGating_DTS *)g->data;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, len, "-dts_tau %.17g%s", (double)dts->tau, dts->fit ? " -dts_fit_tau 1" : ""));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeGatingCreate_DTS(MoeGating g)
{
  MoeGating_DTS *dts;

  PetscFunctionBegin;
  PetscCall(PetscNew(&dts));
  dts->tau                = 1.0;
  g->data                 = dts;
  g->ops.scores           = MoeGatingScores_DTS;
  g->ops.setfromoptions   = MoeGatingSetFromOptions_DTS;
  g->ops.pin              = MoeGatingPinLastAtom;
  g->ops.initglobals      = MoeGatingInitGlobals_DTS;
  g->ops.embedglobals     = MoeGatingEmbedGlobals_DTS;
  g->ops.globalbounds     = MoeGatingGlobalBounds_DTS;
  g->ops.describe         = MoeGatingDescribe_DTS;
  PetscFunctionReturn(0);
}

static const MoeFamilyOption options[] = {
  {"-dts_tau", MOE_OPTION_REAL, "1", "dense-to-sparse gating: temperature tau > 0 (initial value when fitted)", NULL},
  {"-dts_fit_tau", MOE_OPTION_BOOL, "0", "dense-to-sparse gating: fit tau as a parameter", NULL},
  {NULL, MOE_OPTION_INT, NULL, NULL, NULL}
};

const MoeGatingFamily MoeGatingFamily_DTS = {"dts", MoeGatingCreate_DTS, MOE_MASS_EXP, "softmax_d1,softmax_dlin", NULL, options, "dense-to-sparse gating: softmax of scores / temperature tau", PETSC_TRUE};
