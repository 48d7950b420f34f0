/* Analytic derivatives of f_G(x) with respect to every parameter, for every registered
   gating x expert pair (a new family is checked without editing this file; a gating family
   with boolean options is checked with them off and on), against central finite differences
   at random points. */
#include <moemodel.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

/* The relative error of the analytic derivative; kinks of ReLU and top-K switches are
   detected (the two one-sided differences disagree) and skipped. */
/* Family options of the test (k = 6): integers 3 (top-3, or 3 groups of 2 leaves, or 3 shared
   atoms); reals, booleans and strings at their defaults, or with `flags` at 0.7 (a temperature),
   on, and the string's other value. */
static PetscErrorCode SetFamilyOptions(const MoeGatingFamily *f, PetscBool flags, PetscOptions opts)
{
  PetscFunctionBegin;
  for (const MoeFamilyOption *o = f->options; o && o->name; o++) {
    const char *v = o->type == MOE_OPTION_INT ? "3" : !flags ? o->defval : o->type == MOE_OPTION_REAL ? "0.7" : o->type == MOE_OPTION_STRING ? (o->other ? o->other : o->defval) : "1";
    PetscCall(PetscOptionsSetValue(opts, o->name, v));
  }
  PetscFunctionReturn(0);
}

static PetscBool HasFlags(const MoeGatingFamily *f)
{
  for (const MoeFamilyOption *o = f->options; o && o->name; o++)
    if (o->type != MOE_OPTION_INT) return PETSC_TRUE;
  return PETSC_FALSE;
}

static PetscErrorCode CheckPair(const MoeGatingFamily *gating, PetscBool flags, const char extra[], const MoeExpertFamily *expert, gsl_rng *rng, PetscInt *nchecked, PetscReal *worst)
{
  MoeModel     m;
  PetscOptions opts;
  PetscInt     k = 6, d = 3, i, trial;
  PetscReal   *theta, *J, *x, *lower;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(SetFamilyOptions(gating, flags, opts));
  if (extra) PetscCall(PetscOptionsInsertString(opts, extra));
  PetscCall(MoeModelCreate(gating->name, expert->name, k, d, opts, NULL, &m));
  PetscCall(PetscMalloc4(m->p, &theta, m->p, &J, d, &x, m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  for (trial = 0; trial < 20; trial++) {
    for (i = 0; i < m->p; i++) theta[i] = gsl_ran_gaussian(rng, 0.8);
    for (i = 0; i < m->k * m->stride; i += m->stride) theta[i + d] *= 0.5;
    for (i = 0; i < m->p; i++) /* bounded parameters (a temperature): well inside their range */
      if (lower[i] != PETSC_NINFINITY) theta[i] = lower[i] + 0.5 + gsl_rng_uniform(rng);
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
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "FAIL %s%s %s x %s: parameter %" PetscInt_FMT " analytic %.12e finite-difference %.12e (rel err %.2e)\n", gating->name, flags ? " (flags on)" : "", extra ? extra : "", expert->name, i, (double)J[i], (double)cd, (double)err));
        *worst = PetscMax(*worst, err);
      }
      (*nchecked)++;
    }
  }
  PetscCall(PetscFree4(theta, J, x, lower));
  PetscCall(MoeModelDestroy(&m));
  PetscCall(PetscOptionsDestroy(&opts));
  PetscFunctionReturn(0);
}

/* The score of the Gaussian MoE, d log p(y | x) / dtheta, against central differences, for a
   softmax-type gating (gates that sum to one) and an expert family. */
/* The score of a likelihood model (-model gaussian with k = 4 atoms, or contaminated with one and
   the options extra) against central differences of its log-density. */
static PetscErrorCode CheckScore(const MoeGatingFamily *gating, PetscBool flags, const MoeExpertFamily *expert, const char model[], const char extra[], gsl_rng *rng, PetscInt *nchecked, PetscReal *worst)
{
  MoeModel     m;
  PetscOptions opts;
  PetscInt     k = strcmp(model, "gaussian") ? 1 : 4, d = 2, i, trial;
  PetscReal   *theta, *g, *x, *lower, lp, lpp, lpm, y;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(SetFamilyOptions(gating, flags, opts));
  PetscCall(PetscOptionsSetValue(opts, "-topk_K", "2"));
  PetscCall(PetscOptionsSetValue(opts, "-hsoftmax_groups", "2"));
  PetscCall(PetscOptionsSetValue(opts, "-model", model));
  if (extra) PetscCall(PetscOptionsInsertString(opts, extra));
  PetscCall(MoeModelCreate(gating->name, expert->name, k, d, opts, NULL, &m));
  PetscCall(PetscMalloc4(m->p, &theta, m->p, &g, d, &x, m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  for (trial = 0; trial < 20; trial++) {
    for (i = 0; i < m->p; i++) theta[i] = gsl_ran_gaussian(rng, 0.8);
    for (i = 0; i < m->p; i++)
      if (lower[i] != PETSC_NINFINITY) theta[i] = lower[i] + 0.3 + gsl_rng_uniform(rng); /* sigma, tau */
    PetscCall(MoeModelPinParameters(m, theta));
    for (i = 0; i < d; i++) x[i] = 2 * gsl_rng_uniform(rng) - 1;
    y = gsl_ran_gaussian(rng, 1.0);
    if (m->base && trial % 2) PetscCall(MoeModelDrawContaminated(m, theta, x, rng, &y)); /* points the model puts mass on */
    PetscCall(MoeModelLogDensity(m, theta, x, y, &lp, g));
    for (i = 0; i < m->pfree; i++) {
      PetscInt  j = m->ifree[i];
      PetscReal h = 1e-6 * PetscMax(1.0, PetscAbsReal(theta[j])), t = theta[j], cd, fwd, bwd, err;
      theta[j] = t + h;
      PetscCall(MoeModelLogDensity(m, theta, x, y, &lpp, NULL));
      theta[j] = t - h;
      PetscCall(MoeModelLogDensity(m, theta, x, y, &lpm, NULL));
      theta[j] = t;
      fwd = (lpp - lp) / h, bwd = (lp - lpm) / h, cd = (lpp - lpm) / (2 * h);
      if (PetscAbsReal(fwd - bwd) > 1e-3 * (1 + PetscAbsReal(cd))) continue; /* a kink (ReLU, a top-K switch) */
      err = PetscAbsReal(g[j] - cd) / PetscMax(1e-3, PetscAbsReal(cd));
      if (err > 1e-6) {
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "FAIL %s MoE %s%s x %s (%s): parameter %" PetscInt_FMT " score %.12e finite-difference %.12e (rel err %.2e)\n", model, gating->name, flags ? " (options on)" : "", expert->name, extra ? extra : "", j, (double)g[j], (double)cd, (double)err));
        *worst = PetscMax(*worst, err);
      }
      (*nchecked)++;
    }
  }
  PetscCall(PetscFree4(theta, g, x, lower));
  PetscCall(MoeModelDestroy(&m));
  PetscCall(PetscOptionsDestroy(&opts));
  PetscFunctionReturn(0);
}

/* Blocks of rows through BLAS (src/model/block.c) against the row-at-a-time evaluation: f,
   sum_r w_r J_r and J's free columns of a block of 37 rows (an odd size, so no GEMM is square),
   for every pair that has blocks, plain and as a Gaussian MoE (whose sigmas J must leave at 0). */
static PetscErrorCode CheckBlocks(const MoeGatingFamily *gating, PetscBool flags, const MoeExpertFamily *expert, PetscBool gaussian, gsl_rng *rng, PetscInt *nchecked, PetscReal *worst)
{
  MoeModel     m;
  PetscOptions opts;
  PetscInt     k = 6, d = 4, nb = 37, i, r, trial; /* k = 6: the options of SetFamilyOptions (3 groups) fit it */
  PetscReal   *theta, *X, *w, *F, *C, *row, *grad, *gref, *Jb, *lower;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&opts));
  PetscCall(SetFamilyOptions(gating, flags, opts));
  if (gaussian) PetscCall(PetscOptionsSetValue(opts, "-model", "gaussian"));
  PetscCall(MoeModelCreate(gating->name, expert->name, k, d, opts, NULL, &m));
  if (!MoeModelHasBlocks(m)) goto done;
  PetscCall(PetscMalloc6(m->p, &theta, (size_t)nb * d, &X, nb, &w, nb, &F, (size_t)nb * MoeModelBlockFactors(m), &C, m->p, &row));
  PetscCall(PetscMalloc4(m->p, &grad, m->p, &gref, (size_t)nb * m->pfree, &Jb, m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  for (trial = 0; trial < 5; trial++) {
    for (i = 0; i < m->p; i++) theta[i] = lower[i] != PETSC_NINFINITY ? lower[i] + 0.5 + gsl_rng_uniform(rng) : gsl_ran_gaussian(rng, 0.8);
    PetscCall(MoeModelPinParameters(m, theta));
    for (i = 0; i < nb * d; i++) X[i] = 2 * gsl_rng_uniform(rng) - 1;
    for (r = 0; r < nb; r++) w[r] = gsl_ran_gaussian(rng, 1.0);
    PetscCall(MoeModelEvaluateBlock(m, theta, nb, X, F, C));
    PetscCall(PetscArrayzero(grad, m->p));
    PetscCall(PetscArrayzero(gref, m->p));
    PetscCall(MoeModelBlockGradient(m, nb, X, C, w, grad));
    PetscCall(MoeModelBlockJacobian(m, nb, X, C, row, Jb));
    for (r = 0; r < nb; r++) {
      PetscReal f, e;
      PetscCall(MoeModelEvaluateRow(m, theta, X + r * d, &f, row));
      e = PetscAbsReal(F[r] - f) / (1 + PetscAbsReal(f));
      for (i = 0; i < m->p; i++) gref[i] += w[r] * row[i];
      for (i = 0; i < m->pfree; i++) e = PetscMax(e, PetscAbsReal(Jb[r * m->pfree + i] - row[m->ifree[i]]) / (1 + PetscAbsReal(row[m->ifree[i]])));
      *worst = PetscMax(*worst, e);
      (*nchecked) += 1 + m->pfree;
    }
    for (i = 0; i < m->p; i++) *worst = PetscMax(*worst, PetscAbsReal(grad[i] - gref[i]) / (1 + PetscAbsReal(gref[i])));
    *nchecked += m->p;
  }
  PetscCall(PetscFree6(theta, X, w, F, C, row));
  PetscCall(PetscFree4(grad, gref, Jb, lower));
done:
  PetscCall(MoeModelDestroy(&m));
  PetscCall(PetscOptionsDestroy(&opts));
  PetscFunctionReturn(0);
}

/* Settings the registry's option values above (integers 3, reals at their default or 0.7) do not
   reach: the cosine router dense (K = 0) and plain (tau = 0). */
static const struct {
  const char *gating, *options;
} extra[] = {
  {"cosine", "-cosine_K 0"},
  {"cosine", "-cosine_K 0 -cosine_tau 0"},
  {"cosine", "-cosine_tau 0"}
};

int main(int argc, char **argv)
{
  gsl_rng  *rng;
  PetscInt  nchecked = 0, npairs = 0, ng, ne, a, b;
  PetscReal worst    = 0;
  const MoeGatingFamily *const *gatings;
  const MoeExpertFamily *const *experts;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 12345);
  PetscCall(MoeGatingFamilies(&ng, &gatings));
  PetscCall(MoeExpertFamilies(&ne, &experts));
  for (a = 0; a < ng; a++)
    for (PetscInt flags = 0; flags < (HasFlags(gatings[a]) ? 2 : 1); flags++)
      for (b = 0; b < ne; b++, npairs++) PetscCall(CheckPair(gatings[a], (PetscBool)flags, NULL, experts[b], rng, &nchecked, &worst));
  for (a = 0; a < (PetscInt)PETSC_STATIC_ARRAY_LENGTH(extra); a++) {
    const MoeGatingFamily *f;
    PetscCall(MoeGatingFamilyFind(extra[a].gating, &f));
    for (b = 0; b < ne; b++, npairs++) PetscCall(CheckPair(f, PETSC_FALSE, extra[a].options, experts[b], rng, &nchecked, &worst));
  }
  {
    PetscInt nscore = 0, nmix = 0;
    for (a = 0; a < ng; a++)
      if (gatings[a]->sums_to_one)
        for (PetscInt flags = 0; flags < (HasFlags(gatings[a]) ? 2 : 1); flags++)
          for (b = 0; b < ne; b++, nmix++) PetscCall(CheckScore(gatings[a], (PetscBool)flags, experts[b], "gaussian", NULL, rng, &nscore, &worst));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "checked %" PetscInt_FMT " score entries of %" PetscInt_FMT " Gaussian MoE gating x expert pairs\n", nscore, nmix));
    PetscCheck(nscore > 3000, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "too few score entries checked");
  }
  { /* the contaminated MoE: one sigmoid-gated atom over a frozen base, each base, the bias pinned or fitted */
    static const char *bases[] = {"-contam_base gaussian -contam_base_nu 0.5", "-contam_base laplace -contam_base_nu 0.7 -contam_base_eta 0.5,-1", "-contam_base gaussian -contam_expert_bias 1 -contam_base_nu 0.3"};
    const MoeGatingFamily *sig;
    PetscInt               nscore = 0, nmix = 0;
    PetscCall(MoeGatingFamilyFind("sigmoid", &sig));
    for (a = 0; a < (PetscInt)PETSC_STATIC_ARRAY_LENGTH(bases); a++)
      for (b = 0; b < ne; b++) {
        if (experts[b]->identifiability == MOE_IDENTIFIABLE_CONSTANT) continue; /* the base needs a^T x + b */
        PetscCall(CheckScore(sig, PETSC_FALSE, experts[b], "contaminated", bases[a], rng, &nscore, &worst));
        nmix++;
      }
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "checked %" PetscInt_FMT " score entries of %" PetscInt_FMT " contaminated MoE expert x base settings\n", nscore, nmix));
    PetscCheck(nscore > 500, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "too few contaminated score entries checked");
  }
  {
    PetscInt  nblock = 0, nbpairs = 0;
    PetscReal bworst = 0;
    for (a = 0; a < ng; a++)
      for (PetscInt flags = 0; flags < (HasFlags(gatings[a]) ? 2 : 1); flags++)
        for (b = 0; b < ne; b++)
          for (PetscInt gaussian = 0; gaussian < 2; gaussian++) {
            PetscInt before = nblock;
            PetscCall(CheckBlocks(gatings[a], (PetscBool)flags, experts[b], (PetscBool)gaussian, rng, &nblock, &bworst));
            nbpairs += nblock > before;
          }
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "blocks through BLAS against rows: %" PetscInt_FMT " values of %" PetscInt_FMT " models, largest relative difference %.2e\n", nblock, nbpairs, (double)bworst));
    PetscCheck(nbpairs >= 20, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "too few models with blocks: %" PetscInt_FMT, nbpairs);
    PetscCheck(bworst < 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "blocks through BLAS disagree with the row evaluation: %.2e", (double)bworst);
  }
  gsl_rng_free(rng);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "checked %" PetscInt_FMT " derivatives of %" PetscInt_FMT " gating x expert pairs; worst failing relative error %.2e\n", nchecked, npairs, (double)worst));
  PetscCheck(worst == 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "analytic derivatives disagree with finite differences");
  PetscCheck(nchecked > 10000, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "too few derivatives checked");
  PetscCall(PetscFinalize());
  return 0;
}
