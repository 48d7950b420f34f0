/* Analytic derivatives of f_G(x) with respect to every parameter, for every
   gating x expert pair, against central finite differences at random points. */
#include <moemodel.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

static const char *gatings[] = {"sigmoid", "softmax", "topk", "dts", "dts_fit", "hsoftmax"};
static const char *experts[] = {"relu", "gelu", "sigmoid", "tanh", "linear", "constant"};

/* The relative error of the analytic derivative; kinks of ReLU and top-K switches are
   detected (the two one-sided differences disagree) and skipped. */
static PetscErrorCode CheckPair(const char *gating, const char *expert, gsl_rng *rng, PetscInt *nchecked, PetscReal *worst)
{
  MoeModel     m;
  PetscOptions opts;
  PetscInt     k = 6, d = 3, i, trial;
  PetscReal   *theta, *J, *x;
  const char  *gname = gating;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(PetscOptionsSetValue(opts, "-topk_K", "3"));
  PetscCall(PetscOptionsSetValue(opts, "-dts_tau", "0.7"));
  PetscCall(PetscOptionsSetValue(opts, "-hsoftmax_groups", "2"));
  if (!strcmp(gating, "dts_fit")) {
    PetscCall(PetscOptionsSetValue(opts, "-dts_fit_tau", "1"));
    gname = "dts";
  }
  PetscCall(MoeModelCreate(gname, expert, k, d, opts, NULL, &m));
  PetscCall(PetscMalloc3(m->p, &theta, m->p, &J, d, &x));
  for (trial = 0; trial < 20; trial++) {
    for (i = 0; i < m->p; i++) theta[i] = gsl_ran_gaussian(rng, 0.8);
    for (i = 0; i < m->k * m->stride; i += m->stride) theta[i + d] *= 0.5;
    if (m->nglobal && !strcmp(gname, "dts")) theta[m->k * m->stride] = 0.5 + gsl_rng_uniform(rng);
    for (i = 0; i < d; i++) x[i] = 2 * gsl_rng_uniform(rng) - 1;
    PetscReal f;
    PetscCall(MoeModelEvaluateRow(m, theta, x, &f, J));
    for (i = 0; i < m->p; i++) {
      PetscReal h = 1e-6 * PetscMax(1.0, PetscAbsReal(theta[i])), t = theta[i], fp, fm, f0, err;
      theta[i] = t + h;
      PetscCall(MoeModelEvaluate(m, theta, x, &fp));
      theta[i] = t - h;
      PetscCall(MoeModelEvaluate(m, theta, x, &fm));
      theta[i] = t;
      PetscCall(MoeModelEvaluate(m, theta, x, &f0));
      PetscReal fwd = (fp - f0) / h, bwd = (f0 - fm) / h, cd = (fp - fm) / (2 * h);
      if (PetscAbsReal(fwd - bwd) > 1e-3 * (1 + PetscAbsReal(cd))) continue; /* a kink */
      err = PetscAbsReal(J[i] - cd) / PetscMax(1e-3, PetscAbsReal(cd));
      if (err > 1e-6) {
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "FAIL %s x %s: parameter %" PetscInt_FMT " analytic %.12e finite-difference %.12e (rel err %.2e)\n", gating, expert, i, (double)J[i], (double)cd, (double)err));
        *worst = PetscMax(*worst, err);
      }
      (*nchecked)++;
    }
  }
  PetscCall(PetscFree3(theta, J, x));
  PetscCall(MoeModelDestroy(&m));
  PetscCall(PetscOptionsDestroy(&opts));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  gsl_rng  *rng;
  PetscInt  nchecked = 0;
  PetscReal worst    = 0;
  size_t    a, b;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 12345);
  for (a = 0; a < sizeof(gatings) / sizeof(gatings[0]); a++)
    for (b = 0; b < sizeof(experts) / sizeof(experts[0]); b++) PetscCall(CheckPair(gatings[a], experts[b], rng, &nchecked, &worst));
  gsl_rng_free(rng);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "checked %" PetscInt_FMT " derivatives of %zu gating x expert pairs; worst failing relative error %.2e\n", nchecked, (sizeof(gatings) / sizeof(gatings[0])) * (sizeof(experts) / sizeof(experts[0])), (double)worst));
  PetscCheck(worst == 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "analytic derivatives disagree with finite differences");
  PetscCheck(nchecked > 10000, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "too few derivatives checked");
  PetscCall(PetscFinalize());
  return 0;
}
