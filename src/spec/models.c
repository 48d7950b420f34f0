/* The fitted models of the spec: gating and expert families, atoms, dimension, model type. */
#include <moe/private/specimpl.h>

PetscErrorCode MoeSpecReadModels(MPI_Comm comm, MoeSpec *s, PetscBool run, MoeSpecReadFlags *f)
{
  PetscBool set;
  char      names[512], gating_help[600], expert_help[600];

  PetscFunctionBegin;
  PetscCall(MoeGatingTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(gating_help, sizeof(gating_help), "gating families to fit: %s (comma list; default sigmoid)", names));
  PetscCall(MoeExpertTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(expert_help, sizeof(expert_help), "expert families: %s (comma list; default relu)", names));
  PetscOptionsBegin(comm, NULL, "moerate spec: the fitted models", "moerate");
  PetscCall(MoeSpecReadNameList(PetscOptionsObject, "-gating", gating_help, s->gatings, &s->ngatings, "sigmoid", &set));
  PetscCall(MoeSpecReadNameList(PetscOptionsObject, "-expert", expert_help, s->experts, &s->nexperts, "relu", &set));
  PetscCall(MoeSpecResolveGatings("-gating", (const char(*)[MOE_NAME_LEN])s->gatings, s->ngatings, s->gating_families));
  PetscCall(MoeSpecResolveExperts("-expert", (const char(*)[MOE_NAME_LEN])s->experts, s->nexperts, s->expert_families));
  MoeUserCheck(run || (s->ngatings == 1 && s->nexperts == 1), "`moerate fit` fits one gating and one expert family: give a single -gating and -expert");
  PetscCall(PetscOptionsInt("-k", "number of fitted atoms (experts)", NULL, s->k, &s->k, &f->kset));
  PetscCall(PetscOptionsInt("-kstar", "number of true atoms k* (from the truth file if one is given)", NULL, s->kstar, &s->kstar, &f->kstarset));
  PetscCall(PetscOptionsInt("-d", "input dimension", NULL, s->d, &s->d, &f->dset));
  PetscCall(PetscOptionsString("-model", "model type: regression (Y = f_G(X) + N(0, noise)), gaussian (the Gaussian MoE of P3: Y from the expert a gate draws, N(h_i(X), sigma_i^2); estimator mle) or contaminated (a frozen base density -contam_base contaminated by one Gaussian expert with a sigmoid gate; estimator mle)", NULL, f->model, f->model, sizeof(f->model), NULL));
  PetscOptionsEnd();
  PetscCall(PetscEnumFind(MoeModelTypes, f->model, (PetscEnum *)&s->model, &set));
  MoeUserCheck(set, "-model '%s' is not a model type: use regression, gaussian or contaminated", f->model);
  /* family options: declared by the families themselves (for -help), read by them at creation */
  PetscCall(MoeGatingFamilyOptionsDeclare(comm, NULL));
  PetscCall(MoeFamilyOptionsDeclare(comm, NULL, "moerate spec: the contaminated MoE's frozen base (-model contaminated)", MoeModelOptions()));
  PetscFunctionReturn(0);
}
