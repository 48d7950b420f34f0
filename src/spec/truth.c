/* The truth section of the spec: where G* comes from (a file, or draws of a seed) and how it is screened. */
#include <moe/private/specimpl.h>

/* Do two options databases give option o the same value (as its type reads it: 0.1 and
   0.10000000000000001 are one real, "true" and "1" one boolean)? */
static PetscErrorCode SameValue(const MoeFamilyOption *o, PetscOptions a, PetscOptions b, PetscBool *same)
{
  PetscFunctionBegin;
  switch (o->type) {
  case MOE_OPTION_REAL_ARRAY: {
    PetscReal x[MOE_MAX_TRUTH_D], y[MOE_MAX_TRUTH_D];
    PetscInt  nx = MOE_MAX_TRUTH_D, ny = MOE_MAX_TRUTH_D;
    PetscCall(PetscOptionsGetRealArray(a, NULL, o->name, x, &nx, NULL));
    PetscCall(PetscOptionsGetRealArray(b, NULL, o->name, y, &ny, NULL));
    *same = (PetscBool)(nx == ny);
    for (PetscInt i = 0; i < nx && *same; i++) *same = (PetscBool)(x[i] == y[i]);
  } break;
  case MOE_OPTION_REAL: {
    PetscReal x = 0, y = 0;
    PetscCall(PetscOptionsGetReal(a, NULL, o->name, &x, NULL));
    PetscCall(PetscOptionsGetReal(b, NULL, o->name, &y, NULL));
    *same = (PetscBool)(x == y);
  } break;
  case MOE_OPTION_BOOL: {
    PetscBool x = PETSC_FALSE, y = PETSC_FALSE;
    PetscCall(PetscOptionsGetBool(a, NULL, o->name, &x, NULL));
    PetscCall(PetscOptionsGetBool(b, NULL, o->name, &y, NULL));
    *same = (PetscBool)(x == y);
  } break;
  default: {
    char x[256] = "", y[256] = "";
    PetscCall(PetscOptionsGetString(a, NULL, o->name, x, sizeof(x), NULL));
    PetscCall(PetscOptionsGetString(b, NULL, o->name, y, sizeof(y), NULL));
    PetscCall(PetscStrcasecmp(x, y, same));
  } break;
  }
  PetscFunctionReturn(0);
}

/* The model options (the contaminated MoE's base) are known to the fit: the spec's and the truth file's
   are one setting, given in either (a file and a spec that disagree are refused), and both the truth's
   model and the fitted ones are created with it.  A truth file of another model may not set them. */
static PetscErrorCode ShareModelOptions(MoeSpec *s, MoeTruthRecord *r)
{
  PetscOptions fopts;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&fopts));
  PetscCall(PetscOptionsInsertString(fopts, r->options));
  for (const MoeFamilyOption *o = MoeModelOptions(); o->name; o++) {
    static char fv[MOE_TRUTH_OPTIONS_LEN], sv[MOE_TRUTH_OPTIONS_LEN]; /* lists as long as d: too large for the stack */
    PetscBool fset, sset, same = PETSC_TRUE;
    fv[0] = sv[0] = 0;
    PetscCall(PetscOptionsGetString(fopts, NULL, o->name, fv, sizeof(fv), &fset));
    PetscCall(PetscOptionsGetString(s->opts, NULL, o->name, sv, sizeof(sv), &sset));
    MoeUserCheck(!fset || r->model == MOE_MODEL_CONTAMINATED, "-truth_file %s sets %s, but its model is %s: the base belongs to a contaminated MoE (model: contaminated), or leave it out", s->truth_file, o->name, MoeModelTypes[r->model]);
    if (fset && sset) PetscCall(SameValue(o, fopts, s->opts, &same));
    MoeUserCheck(same, "%s %s differs from the truth file's %s %s: the base is known to the fit, give it once (in the spec or in -truth_file %s)", o->name, sv, o->name, fv, s->truth_file);
    if (fset && !sset) PetscCall(PetscOptionsSetValue(s->opts, o->name, fv));
    if (sset && !fset && r->model == MOE_MODEL_CONTAMINATED) {
      size_t len;
      PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
      PetscCall(PetscStrlcat(r->options, o->name, sizeof(r->options)));
      PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
      PetscCall(PetscStrlcat(r->options, sv, sizeof(r->options)));
      PetscCall(PetscStrlen(r->options, &len));
      MoeUserCheck(len + 1 < sizeof(r->options), "%s %s: the truth's options are longer than %d characters", o->name, sv, (int)sizeof(r->options) - 1);
    }
  }
  PetscCall(PetscOptionsDestroy(&fopts));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecReadTruth(MPI_Comm comm, MoeSpec *s, MoeTruthFile *tf, MoeSpecReadFlags *f)
{
  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "moerate truth: the true mixing measure G* and its screening", "moerate");
  PetscCall(PetscOptionsString("-truth_file", "read the truth from this HDF5 (moerate output) or YAML file", NULL, s->truth_file, s->truth_file, sizeof(s->truth_file), NULL));
  PetscCall(PetscStrncpy(s->truth_gating, s->gatings[0], sizeof(s->truth_gating)));
  PetscCall(PetscOptionsString("-truth_gating", "gating family of the truth (default: the first -gating)", NULL, s->truth_gating, s->truth_gating, sizeof(s->truth_gating), &f->tgset));
  PetscCall(PetscOptionsString("-truth_expert", "expert family of the truth (default: that of each fit)", NULL, s->truth_expert, s->truth_expert, sizeof(s->truth_expert), NULL));
  PetscCall(MoeSpecResolveGatings("-truth_gating", (const char(*)[MOE_NAME_LEN])&s->truth_gating, 1, &s->truth_gating_family));
  if (s->truth_file[0]) { /* the truth file fixes k*, d and the truth's families */
    MoeTruthRecord *r;
    PetscCheck(tf && tf->n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "-truth_file %s was not read before the spec", s->truth_file);
    r = &tf->truths[0];
    MoeUserCheck(!f->dset || r->d == s->d, "-d %" PetscInt_FMT " does not match the truth file %s (d = %" PetscInt_FMT "): drop -d or use a matching truth", s->d, s->truth_file, r->d);
    MoeUserCheck(!f->kstarset || r->kstar == s->kstar, "-kstar %" PetscInt_FMT " does not match the truth file %s (k* = %" PetscInt_FMT "): drop -kstar or use a matching truth", s->kstar, s->truth_file, r->kstar);
    s->d     = r->d;
    s->kstar = r->kstar;
    MoeUserCheck(!f->tgset || r->gating == s->truth_gating_family, "-truth_gating %s does not match the truth file %s (gating %s): drop -truth_gating", s->truth_gating, s->truth_file, r->gating->name);
    PetscCall(PetscStrncpy(s->truth_gating, r->gating->name, sizeof(s->truth_gating)));
    s->truth_gating_family = r->gating;
    if (!s->truth_expert[0] && tf->n == 1) PetscCall(PetscStrncpy(s->truth_expert, r->expert->name, sizeof(s->truth_expert)));
    for (PetscInt i = 0; i < tf->n; i++) PetscCall(ShareModelOptions(s, &tf->truths[i]));
  }
  if (s->truth_expert[0]) PetscCall(MoeSpecResolveExperts("-truth_expert", (const char(*)[MOE_NAME_LEN])&s->truth_expert, 1, &s->truth_expert_family));
  PetscCall(PetscOptionsInt("-truth_regime", "1: beta1* = 0 (P1 Regime 1); 2: beta1* ~ N(0, truth_beta1_var I)", NULL, s->truth_regime, &s->truth_regime, NULL));
  PetscCall(PetscOptionsInt("-truth_beta1_zero", "Regime 2: the first this-many true atoms keep beta1* = 0", NULL, 0, &s->truth_beta1_zero, NULL));
  PetscCall(PetscOptionsReal("-truth_beta0_var", "variance of beta0* (default 0.01/d, P1's)", NULL, s->truth_beta0_var, &s->truth_beta0_var, NULL));
  PetscCall(PetscOptionsReal("-truth_beta1_var", "variance of each entry of beta1* in Regime 2 (default 4: gates that vary with x; P1 used 0.01/d)", NULL, s->truth_beta1_var, &s->truth_beta1_var, NULL));
  PetscCall(PetscOptionsReal("-truth_sigma", "Gaussian MoE: the sigma of every drawn true expert", NULL, s->truth_sigma, &s->truth_sigma, NULL));
  PetscCall(PetscOptionsReal("-truth_expert_var", "variance of each entry of a* and of b* (default 4: hinges across the inputs; P1 used 1/d)", NULL, s->truth_expert_var, &s->truth_expert_var, NULL));
  PetscCall(PetscOptionsInt("-seed", "experiment seed: data, initial points, evaluation sample", NULL, s->seed, &s->seed, NULL));
  PetscCall(PetscOptionsInt("-truth_seed", "seed of the drawn truth (default: -seed; then ill-posed draws are redrawn, see -truth_max_sd)", NULL, s->truth_seed, &s->truth_seed, &s->truth_seed_set));
  PetscCall(PetscOptionsInt("-truth_draw", "use this draw of the truth seed, unscreened for redraws (default: the first well-posed one)", NULL, s->truth_draw, &s->truth_draw, &s->truth_draw_set));
  PetscCall(PetscOptionsReal("-truth_max_sd", "screening: largest sd sqrt(noise/(n lambda_min)) of an estimate along the truth's weakest Fisher direction at the smallest n", NULL, s->truth_max_sd, &s->truth_max_sd, NULL));
  PetscCall(PetscOptionsReal("-truth_active_min", "screening: every ReLU/GELU expert of the truth must be active, and inactive, on at least this fraction of the inputs", NULL, s->truth_active_min, &s->truth_active_min, NULL));
  PetscCall(PetscOptionsInt("-truth_max_draws", "screening: draws of the truth seed tried before giving up", NULL, s->truth_max_draws, &s->truth_max_draws, NULL));
  PetscCall(PetscOptionsBool("-allow_ill_posed", "measure a truth that fails the screening (P1's published design): its rates are then not evidence", NULL, s->allow_ill_posed, &s->allow_ill_posed, NULL));
  PetscOptionsEnd();
  PetscCall(MoeGatingFamilyOptionsDeclare(comm, "truth_"));
  PetscFunctionReturn(0);
}
