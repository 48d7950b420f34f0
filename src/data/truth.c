/* The true mixing measure G*: drawn from the distributions of P1 (App. C) from a
   recorded seed, or read from a file (HDF5 written by moerate, or YAML). */
#include <moedata.h>
#include <moestore.h>
#include <gsl/gsl_randist.h>

/* Draw theta* atom by atom, always in the same order and always every value
   (beta1 (d), beta0, a (d), b), so that a truth with other families or another regime
   shares its random numbers (draw j of a seed: generator index j, see src/data/screen.c):
     beta1* ~ N(0, beta1_var I) (0 in regime 1, and for the first truth_beta1_zero atoms),
     beta0* ~ N(0, beta0_var), a* ~ N(0, expert_var I), b* ~ N(0, expert_var).
   Pinned entries of softmax-type truths are then set to zero. */
static PetscErrorCode MoeTruthDraw(const MoeSpec *spec, PetscInt draw, MoeTruth *t)
{
  MoeModel  m = t->model;
  gsl_rng  *rng;
  PetscInt  i, j, d = m->d;
  PetscReal s1 = PetscSqrtReal(spec->truth_beta1_var), s0 = PetscSqrtReal(spec->truth_beta0_var), se = PetscSqrtReal(spec->truth_expert_var);

  PetscFunctionBegin;
  PetscCall(MoeRngCreate(spec->truth_seed, MOE_STREAM_TRUTH, 0, 0, draw, &rng));
  for (i = 0; i < m->k; i++) {
    PetscReal *atom = t->theta + i * m->stride, a[1024], b;
    PetscBool  zero = (PetscBool)(spec->truth_regime == 1 || i < spec->truth_beta1_zero);
    for (j = 0; j < d; j++) {
      PetscReal z = gsl_ran_gaussian_ziggurat(rng, 1.0);
      atom[j]     = zero ? 0 : s1 * z;
    }
    atom[d] = s0 * gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (j = 0; j < d; j++) a[j] = se * gsl_ran_gaussian_ziggurat(rng, 1.0);
    b = se * gsl_ran_gaussian_ziggurat(rng, 1.0);
    if (m->ne == d + 1) {
      for (j = 0; j < d; j++) atom[d + 1 + j] = a[j];
      atom[2 * d + 1] = b;
    } else atom[d + 1] = b;
  }
  if (m->nglobal && m->gating->ops.initglobals) PetscCall((*m->gating->ops.initglobals)(m->gating, rng, spec->truth_regime == 1 ? 0 : spec->truth_beta1_var, spec->truth_beta0_var, t->theta + m->k * m->stride));
  PetscCall(MoeModelPinParameters(m, t->theta));
  gsl_rng_free(rng);
  PetscCall(PetscSNPrintf(t->source, sizeof(t->source), "drawn: regime %" PetscInt_FMT ", truth_seed %" PetscInt_FMT ", draw %" PetscInt_FMT, spec->truth_regime, spec->truth_seed, draw));
  PetscFunctionReturn(0);
}

static PetscBool IsYAML(const char file[])
{
  size_t n = strlen(file);
  return (PetscBool)((n > 5 && !strcmp(file + n - 5, ".yaml")) || (n > 4 && !strcmp(file + n - 4, ".yml")));
}

/* The group under /truth of an HDF5 truth file: its only one, or the one named `expert`. */
static PetscErrorCode TruthGroupName(hid_t file, const char path[], const char expert[], char name[], size_t len)
{
  hid_t      g;
  H5G_info_t info;
  PetscBool  exists;

  PetscFunctionBegin;
  PetscCall(MoeH5LinkExists(file, "/truth", &exists));
  MoeUserCheck(exists, "-truth_file %s has no /truth group: give a file written by moerate (fit -output or run), or a YAML truth", path);
  g = H5Gopen2(file, "/truth", H5P_DEFAULT);
  MoeH5Call(H5Gget_info(g, &info));
  MoeUserCheck(info.nlinks > 0, "-truth_file %s: /truth is empty", path);
  if (info.nlinks == 1) {
    ssize_t n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, 0, name, len, H5P_DEFAULT);
    PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read /truth of %s", path);
  } else {
    PetscCall(PetscStrncpy(name, expert, len));
    PetscCall(MoeH5LinkExists(g, name, &exists));
    MoeUserCheck(exists, "-truth_file %s holds several truths but none for expert '%s': set -truth_expert to one of its /truth groups", path, expert);
  }
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* Header of a truth file: families, k*, d; and its parameters when theta is not NULL. */
static PetscErrorCode TruthFileRead(const char path[], const char expertwanted[], char gating[], char expert[], PetscInt *kstar, PetscInt *d, PetscOptions fopts, PetscReal **theta, PetscInt *p)
{
  PetscBool exists;

  PetscFunctionBegin;
  PetscCall(PetscTestFile(path, 'r', &exists));
  MoeUserCheck(exists, "-truth_file %s does not exist or is not readable: give the path of an HDF5 or YAML truth", path);
  if (IsYAML(path)) {
    PetscOptions o;
    char         buf[MOE_NAME_LEN];
    PetscBool    set;
    PetscInt     n = 1 << 20;

    PetscCall(PetscOptionsCreate(&o));
    PetscCall(PetscOptionsInsertFileYAML(PETSC_COMM_SELF, o, path, PETSC_TRUE));
    PetscCall(PetscOptionsGetString(o, NULL, "-gating", gating, MOE_NAME_LEN, &set));
    MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'gating' entry", path);
    PetscCall(PetscOptionsGetString(o, NULL, "-expert", expert, MOE_NAME_LEN, &set));
    MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'expert' entry", path);
    PetscCall(PetscOptionsGetInt(o, NULL, "-kstar", kstar, &set));
    MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'kstar' entry", path);
    PetscCall(PetscOptionsGetInt(o, NULL, "-d", d, &set));
    MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'd' entry", path);
    if (theta) {
      PetscCall(PetscMalloc1(n, theta));
      PetscCall(PetscOptionsGetRealArray(o, NULL, "-theta", *theta, &n, &set));
      MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'theta' list", path);
      *p = n;
    }
    for (const char *const *opt = MoeGatingOptionNames; *opt; opt++) {
      PetscCall(PetscOptionsGetString(o, NULL, *opt, buf, sizeof(buf), &set));
      if (set && fopts) PetscCall(PetscOptionsSetValue(fopts, *opt, buf));
    }
    PetscCall(PetscOptionsDestroy(&o));
  } else {
    hid_t      file, top, g;
    char       name[256], gopts[1024];
    PetscInt64 v;
    htri_t     ish5 = H5Fis_hdf5(path);

    MoeUserCheck(ish5 > 0, "-truth_file %s is neither HDF5 nor YAML (.yaml/.yml)", path);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    MoeUserCheck(file >= 0, "-truth_file %s cannot be opened as HDF5 (corrupt or truncated?)", path);
    PetscCall(TruthGroupName(file, path, expertwanted, name, sizeof(name)));
    top = H5Gopen2(file, "/truth", H5P_DEFAULT);
    g   = H5Gopen2(top, name, H5P_DEFAULT);
    PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /truth/%s of %s", name, path);
    PetscCall(MoeH5AttrReadString(g, "gating", gating, MOE_NAME_LEN));
    PetscCall(MoeH5AttrReadString(g, "expert", expert, MOE_NAME_LEN));
    PetscCall(MoeH5AttrReadInt(g, "kstar", &v));
    *kstar = (PetscInt)v;
    PetscCall(MoeH5AttrReadInt(g, "d", &v));
    *d = (PetscInt)v;
    PetscCall(MoeH5AttrReadString(g, "gating_options", gopts, sizeof(gopts)));
    if (fopts) PetscCall(PetscOptionsInsertString(fopts, gopts));
    if (theta) {
      hsize_t n;
      PetscCall(MoeH5DatasetSize(g, "theta", &n));
      PetscCall(PetscMalloc1(n, theta));
      PetscCall(MoeH5ReadReals(g, "theta", n, *theta));
      *p = (PetscInt)n;
    }
    MoeH5Call(H5Gclose(g));
    MoeH5Call(H5Gclose(top));
    MoeH5Call(H5Fclose(file));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeTruthReadHeader(MPI_Comm comm, const char path[], char gating[], char expert[], PetscInt *kstar, PetscInt *d)
{
  PetscFunctionBegin;
  PetscCall(TruthFileRead(path, "", gating, expert, kstar, d, NULL, NULL, NULL));
  PetscFunctionReturn(0);
}

/* A truth read from a file: every value finite, and the entries a softmax-type gating pins
   (the last atom's scores) zero: the losses compare atoms in the pinned parametrisation, so a
   shifted truth would give wrong losses without a word. */
static PetscErrorCode CheckTruthValues(const char path[], MoeModel m, const PetscReal *theta)
{
  PetscInt i;
  char     name[64];

  PetscFunctionBegin;
  for (i = 0; i < m->p; i++) {
    if (PetscIsInfOrNanReal(theta[i])) {
      PetscCall(MoeModelParameterName(m, i, name, sizeof(name)));
      MoeUserError("-truth_file %s: theta[%" PetscInt_FMT "] (%s) is %g: every value must be finite", path, i, name, (double)theta[i]);
    }
    if (m->pinned[i] && theta[i] != 0) {
      PetscCall(MoeModelParameterName(m, i, name, sizeof(name)));
      MoeUserError("-truth_file %s: theta[%" PetscInt_FMT "] (%s) is %g, but %s gating pins it to 0: subtract the pinned atom's scores from every atom's (softmax is invariant to the shift)", path, i, name, (double)theta[i], m->gating->type);
    }
  }
  PetscFunctionReturn(0);
}

/* The truth for fits with expert family `fitted`. */
PetscErrorCode MoeTruthCreate(const MoeSpec *spec, const char fitted[], MoeTruth **truth)
{
  MoeTruth   *t;
  const char *expert;

  PetscFunctionBegin;
  PetscCall(PetscNew(&t));
  PetscCall(MoeSpecTruthExpert(spec, fitted, &expert));
  if (spec->truth_file[0]) {
    char         gating[MOE_NAME_LEN], fexpert[MOE_NAME_LEN];
    PetscInt     kstar, d, p;
    PetscReal   *theta;
    PetscOptions fopts;

    PetscCall(PetscOptionsCreate(&fopts));
    PetscCall(TruthFileRead(spec->truth_file, expert, gating, fexpert, &kstar, &d, fopts, &theta, &p));
    PetscCall(MoeModelCreate(gating, fexpert, kstar, d, fopts, NULL, &t->model));
    PetscCall(PetscOptionsDestroy(&fopts));
    MoeUserCheck(p == t->model->p, "-truth_file %s: theta has %" PetscInt_FMT " values but a %s x %s truth with k*=%" PetscInt_FMT ", d=%" PetscInt_FMT " has %" PetscInt_FMT, spec->truth_file, p, gating, fexpert, kstar, d, t->model->p);
    t->theta = theta;
    PetscCall(CheckTruthValues(spec->truth_file, t->model, theta));
    PetscCall(PetscSNPrintf(t->source, sizeof(t->source), "file %s", spec->truth_file));
  } else {
    PetscCall(MoeModelCreate(spec->truth_gating, expert, spec->kstar, spec->d, spec->opts, "truth_", &t->model));
    PetscCall(PetscCalloc1(t->model->p, &t->theta));
    PetscInt e = MoeSpecTruthIndex(spec, fitted);
    t->draw     = spec->truth_draws[e];
    t->rejected = spec->truth_rejected[e];
    PetscCall(MoeTruthDraw(spec, t->draw, t));
  }
  *truth = t;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeTruthDestroy(MoeTruth **t)
{
  PetscFunctionBegin;
  if (!*t) PetscFunctionReturn(0);
  PetscCall(PetscFree((*t)->fisher));
  PetscCall(MoeModelDestroy(&(*t)->model));
  PetscCall(PetscFree((*t)->theta));
  PetscCall(PetscFree(*t));
  PetscFunctionReturn(0);
}
