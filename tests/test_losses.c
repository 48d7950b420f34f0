/* Voronoi losses on small hand-computed cases: zero at the truth, invariance to relabelling,
   a split atom, and known non-zero values worked out by hand below. */
#include <moeloss.h>

static int failures = 0;

static void Expect(const char *what, PetscReal got, PetscReal want)
{
  PetscReal err = PetscAbsReal(got - want) / PetscMax(1.0, PetscAbsReal(want));
  if (!(err <= 1e-12)) {
    printf("FAIL %s: got %.15g, expected %.15g\n", what, (double)got, (double)want);
    failures++;
  } else printf("ok   %s = %.15g\n", what, (double)got);
}

static void ExpectNaN(const char *what, PetscReal got)
{
  if (!PetscIsNanReal(got)) {
    printf("FAIL %s: got %.15g, expected NaN\n", what, (double)got);
    failures++;
  } else printf("ok   %s = NaN\n", what);
}

static PetscErrorCode Loss(const char *name, MoeModel m, const PetscReal *theta, MoeModel t, const PetscReal *target, PetscReal *v)
{
  const MoeLossType *type;
  MoeLossInput       in = {m, theta, t, target, 2.0, NULL, NULL, NULL};

  PetscFunctionBegin;
  PetscCall(MoeLossGet(name, &type));
  in.ctx = type->ctx;
  PetscCall((*type->compute)(&in, v));
  PetscFunctionReturn(0);
}

/* atom = (beta1, beta0, a, b) in d = 1 */
static void SetAtom(PetscReal *theta, PetscInt i, PetscReal b1, PetscReal b0, PetscReal a, PetscReal b)
{
  theta[4 * i + 0] = b1;
  theta[4 * i + 1] = b0;
  theta[4 * i + 2] = a;
  theta[4 * i + 3] = b;
}

int main(int argc, char **argv)
{
  MoeModel     sig1, sig2, soft1, soft2, topk1, topk2;
  PetscOptions opts;
  PetscReal    truth[4], fit[8], perm[8], split[8], v, w;
  const PetscReal e = PetscExpReal(1.0), s1 = 1.0 / (1.0 + PetscExpReal(-1.0));

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(PetscOptionsSetValue(opts, "-topk_K", "1"));
  PetscCall(MoeModelCreate("sigmoid", "linear", 1, 1, opts, NULL, &sig1));
  PetscCall(MoeModelCreate("sigmoid", "linear", 2, 1, opts, NULL, &sig2));
  PetscCall(MoeModelCreate("softmax", "linear", 1, 1, opts, NULL, &soft1));
  PetscCall(MoeModelCreate("softmax", "linear", 2, 1, opts, NULL, &soft2));
  PetscCall(MoeModelCreate("topk", "linear", 1, 1, opts, NULL, &topk1));
  PetscCall(MoeModelCreate("topk", "linear", 2, 1, opts, NULL, &topk2));

  /* truth: one atom beta1* = 0, beta0* = 0, a* = 1, b* = 0 */
  SetAtom(truth, 0, 0, 0, 1, 0);
  /* zero at the truth */
  PetscCall(Loss("sigmoid_d1", sig1, truth, sig1, truth, &v));
  Expect("sigmoid_d1 at the truth", v, 0);
  PetscCall(Loss("sigmoid_d2", sig1, truth, sig1, truth, &v));
  Expect("sigmoid_d2 at the truth", v, 0);
  PetscCall(Loss("sigmoid_d3", sig1, truth, sig1, truth, &v));
  Expect("sigmoid_d3 at the truth", v, 0);
  PetscCall(Loss("softmax_d1", soft1, truth, soft1, truth, &v));
  Expect("softmax_d1 at the truth", v, 0);
  PetscCall(Loss("topk", topk1, truth, topk1, truth, &v));
  Expect("topk at the truth", v, 0);

  /* a split atom: two copies of the true atom carrying its mass */
  SetAtom(split, 0, 0, PetscLogReal(0.25 / 0.75), 1, 0); /* sigmoid(b) = sigmoid(0)/2 = 1/4 */
  SetAtom(split, 1, 0, PetscLogReal(0.25 / 0.75), 1, 0);
  PetscCall(Loss("sigmoid_d1", sig2, split, sig1, truth, &v));
  Expect("sigmoid_d1 of a split atom", v, 0);
  SetAtom(split, 0, 0, -PetscLogReal(2.0), 1, 0); /* exp(b) = exp(0)/2 */
  SetAtom(split, 1, 0, -PetscLogReal(2.0), 1, 0);
  PetscCall(Loss("softmax_d1", soft2, split, soft1, truth, &v));
  Expect("softmax_d1 of a split atom", v, 0);
  PetscCall(Loss("topk", topk2, split, topk1, truth, &v));
  Expect("topk of a split atom", v, 0);

  /* known values: fitted atoms (0.1, 0, 1.2, 0) and (-0.2, 1, 1, 0.3), both in the one cell.
     Squared distances: atom 1: 0.1^2 + 0.2^2 = 0.05; atom 2: 0.2^2 + 0.3^2 = 0.13.
     sigmoid_d1 = |sig(0) + sig(1) - sig(0)| + 0.05 + 0.13 (flat cell: squares)
     sigmoid_d2 (r=2) = sig(1) + (0.01 + 0.04 + 0) + (0.04 + 0 + 0.09)
     softmax_d1 = |1 + e - 1| + 1*0.05 + e*0.13 (|A_1| = 2: squares)
     softmax_dlin = e + 1*(0.1 + 0.2) + e*(0.2 + 0.3) (norms, no squares)
     topk (K=1, |A_1| = 2: exponents 4 on beta1, b and 2 on a)
          = e + 1*(0.1^4 + 0.2^2 + 0) + e*(0.2^4 + 0 + 0.3^4)
     sigmoid_d3 against G-bar = the truth's atom duplicated as the same 2-atom model:
          cells by nearest atom; |Db0| + |Dbeta1| + |Deta| summed. */
  SetAtom(fit, 0, 0.1, 0, 1.2, 0);
  SetAtom(fit, 1, -0.2, 1, 1, 0.3);
  PetscCall(Loss("sigmoid_d1", sig2, fit, sig1, truth, &v));
  Expect("sigmoid_d1 known value", v, s1 + 0.05 + 0.13);
  PetscCall(Loss("sigmoid_d2", sig2, fit, sig1, truth, &v));
  Expect("sigmoid_d2 known value", v, s1 + 0.05 + 0.13);
  PetscCall(Loss("softmax_d1", soft2, fit, soft1, truth, &v));
  Expect("softmax_d1 known value", v, e + 0.05 + e * 0.13);
  PetscCall(Loss("softmax_dlin", soft2, fit, soft1, truth, &v));
  Expect("softmax_dlin known value", v, e + (0.1 + PetscSqrtReal(0.04)) + e * (0.2 + 0.3));
  PetscCall(Loss("topk", topk2, fit, topk1, truth, &v));
  Expect("topk known value", v, e + (1e-4 + 0.04) + e * (0.0016 + 0.0081));
  {
    PetscReal bar[8];
    SetAtom(bar, 0, 0, 0, 1, 0);
    SetAtom(bar, 1, 0, 2, 1, 0.5);
    /* atom 1 (0.1,0,1.2,0): nearest bar atom 0 (dist^2 0.05 vs 0.29); atom 2 (-0.2,1,1,0.3):
       omega = (beta1, eta) = (-0.2, 1, 0.3): to bar 0 (0,1,0): 0.13, to bar 1 (0,1,0.5): 0.08
       -> bar atom 1.  D3 = (0 + 0.1 + 0.2) + (|1-2| + 0.2 + 0.2) */
    PetscCall(Loss("sigmoid_d3", sig2, fit, sig2, bar, &v));
    Expect("sigmoid_d3 known value", v, 0.3 + 1.4);
  }

  /* relabelling the fitted atoms changes nothing */
  PetscCall(PetscArraycpy(perm, fit + 4, 4));
  PetscCall(PetscArraycpy(perm + 4, fit, 4));
  for (const char *const *name = (const char *const[]){"sigmoid_d1", "sigmoid_d2", NULL}; *name; name++) {
    PetscCall(Loss(*name, sig2, fit, sig1, truth, &v));
    PetscCall(Loss(*name, sig2, perm, sig1, truth, &w));
    Expect("relabelled sigmoid loss", w, v);
  }
  PetscCall(Loss("softmax_d1", soft2, fit, soft1, truth, &v));
  PetscCall(Loss("softmax_d1", soft2, perm, soft1, truth, &w));
  Expect("relabelled softmax_d1", w, v);

  /* two true atoms far apart: the cells follow the nearest atom whatever the labels */
  {
    MoeModel  sig2b;
    PetscReal t2[8], f2[8], f2p[8];
    PetscCall(MoeModelCreate("sigmoid", "linear", 2, 1, opts, NULL, &sig2b));
    SetAtom(t2, 0, 0, 0, 1, 0);
    SetAtom(t2, 1, 0, 0, -1, 0);
    SetAtom(f2, 0, 0, 0, 1.1, 0);   /* near true atom 0: squares 0.01 */
    SetAtom(f2, 1, 0, 0, -1, 0.2);  /* near true atom 1: squares 0.04 */
    PetscCall(PetscArraycpy(f2p, f2 + 4, 4));
    PetscCall(PetscArraycpy(f2p + 4, f2, 4));
    PetscCall(Loss("sigmoid_d1", sig2b, f2, sig2b, t2, &v));
    Expect("sigmoid_d1, two cells", v, 0.01 + 0.04);
    PetscCall(Loss("sigmoid_d1", sig2b, f2p, sig2b, t2, &w));
    Expect("sigmoid_d1, two cells relabelled", w, 0.01 + 0.04);
    PetscCall(MoeModelDestroy(&sig2b));
  }

  /* per-cell errors: true atoms (1, 0.5, 1, 0) and the pinned (0, 0, -1, 1); fitted atoms
     (1.1, 0, 1, 0) and (0.8, ln 3, 1, 0.2) in cell 0 (squared distances 0.01 and 0.08, weights 1
     and 3), the pinned (0, 0, -1, 1.5) alone in cell 1 (distance 0.5, weight 1 = the true one's).
     cells_over = sqrt((1 0.01 + 3 0.08) / 4) = 0.25; its beta1 block sqrt((0.01 + 3 0.04) / 4),
     its b block sqrt(3 0.04 / 4); cells_exact = 0.5 (all in b); masses: cell 0 |4 - e^0.5|,
     cell 1 0. */
  {
    MoeModel  soft3;
    PetscReal t2[8], f3[12];
    const PetscReal over_mass = 4 - PetscExpReal(0.5);
    PetscCall(MoeModelCreate("softmax", "linear", 3, 1, opts, NULL, &soft3));
    SetAtom(t2, 0, 1, 0.5, 1, 0);
    SetAtom(t2, 1, 0, 0, -1, 1);
    SetAtom(f3, 0, 1.1, 0, 1, 0);
    SetAtom(f3, 1, 0.8, PetscLogReal(3.0), 1, 0.2);
    SetAtom(f3, 2, 0, 0, -1, 1.5);
    const struct {
      const char *name;
      PetscReal   want;
    } cells[] = {
      {"cells_over", 0.25}, {"cells_exact", 0.5}, {"cells_mass", over_mass / 2}, {"cells_over_beta1", PetscSqrtReal(0.13 / 4)},
      {"cells_over_a", 0}, {"cells_over_b", PetscSqrtReal(0.03)}, {"cells_over_mass", over_mass}, {"cells_exact_beta1", 0},
      {"cells_exact_a", 0}, {"cells_exact_b", 0.5}, {"cells_exact_mass", 0},
    };
    for (size_t c = 0; c < sizeof(cells) / sizeof(cells[0]); c++) {
      PetscCall(Loss(cells[c].name, soft3, f3, soft2, t2, &v));
      Expect(cells[c].name, v, cells[c].want);
    }
    PetscCall(Loss("cells_over_sigma", soft3, f3, soft2, t2, &v));
    ExpectNaN("cells_over_sigma of a regression model", v);
    PetscCall(Loss("cells_over", soft2, t2, soft2, t2, &v));
    ExpectNaN("cells_over of an exactly specified fit", v);
    PetscCall(MoeModelDestroy(&soft3));
  }

  PetscCall(MoeModelDestroy(&sig1));
  PetscCall(MoeModelDestroy(&sig2));
  PetscCall(MoeModelDestroy(&soft1));
  PetscCall(MoeModelDestroy(&soft2));
  PetscCall(MoeModelDestroy(&topk1));
  PetscCall(MoeModelDestroy(&topk2));
  PetscCall(PetscOptionsDestroy(&opts));
  PetscCheck(!failures, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%d loss checks failed", failures);
  PetscCall(PetscFinalize());
  return 0;
}
