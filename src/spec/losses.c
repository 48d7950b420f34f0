/* The losses of the spec: -losses (auto: the natural losses of the fitted gatings), and which losses
   apply to a fitted pair and what each is measured against. */
#include <moe/private/specimpl.h>

/* Does pair (gating g, expert e) have the truth's families? */
PetscBool MoeSpecPairMatchesTruth(const MoeSpec *s, PetscInt g, PetscInt e)
{
  return (PetscBool)(s->gating_families[g] == s->truth_gating_family && (!s->truth_expert_family || s->truth_expert_family == s->expert_families[e]));
}

/* Losses: "auto" picks the natural losses of the fitted gatings (science.md) and l2. */
static PetscErrorCode ReadLosses(PetscOptionItems *PetscOptionsObject, MoeSpec *s)
{
  char      list[MOE_MAX_LIST][MOE_NAME_LEN];
  PetscInt  n, i, j;
  PetscBool set, isauto;
  char      names[512], help[700];

  PetscFunctionBegin;
  PetscCall(MoeLossTypesString(names, sizeof(names)));
  PetscCall(PetscSNPrintf(help, sizeof(help), "losses to compute (comma list of %s), or auto: l2 and the natural losses of the fitted gatings (default auto)", names));
  PetscCall(MoeSpecReadNameList(PetscOptionsObject, "-losses", help, list, &n, "auto", &set));
  PetscCall(PetscStrcmp(list[0], "auto", &isauto));
  s->nlosses = 0;
  if (isauto && n == 1) { /* l2, l2_truth when some fit is misspecified, and the families' Voronoi losses */
    PetscBool   chosen[MOE_MAX_LIST] = {PETSC_FALSE}, other = PETSC_FALSE;
    PetscInt    nl;
    const char *const *names;
    PetscCall(MoeLossNames(&nl, &names));
    for (i = 0; i < s->ngatings; i++) {
      const MoeGatingFamily *f      = s->gating_families[i];
      PetscBool              misfit = (PetscBool)(f != s->truth_gating_family || s->truth_regime == 2);
      for (j = 0; j < nl; j++)
        if (MoeNameInList(names[j], f->losses) || (misfit && MoeNameInList(names[j], f->misfit_losses))) chosen[j] = PETSC_TRUE;
      for (PetscInt e = 0; e < s->nexperts; e++) other = (PetscBool)(other || !MoeSpecPairMatchesTruth(s, i, e));
    }
    for (j = 0; j < nl; j++) {
      const MoeLossType *t;
      PetscCall(MoeLossGet(names[j], &t));
      if (!t->optin && (t->voronoi ? chosen[j] : (t->target != MOE_LOSS_FUNCTION || other))) PetscCall(PetscStrncpy(s->losses[s->nlosses++], names[j], MOE_NAME_LEN));
    }
  } else {
    for (i = 0; i < n; i++) {
      const MoeLossType *t;
      PetscCall(MoeLossGet(list[i], &t));
      PetscCall(PetscStrncpy(s->losses[s->nlosses++], list[i], MOE_NAME_LEN));
    }
  }
  PetscFunctionReturn(0);
}

/* Is loss l of fits of pair (g, e) measured against the truth G*?  Only when the fit has the
   truth's families and the loss is not a reference loss (sigmoid_d3); otherwise the target is
   the reference G-bar of the fitted families. */
PetscErrorCode MoeSpecLossTargetIsTruth(const MoeSpec *s, PetscInt l, PetscInt g, PetscInt e, PetscBool *truth)
{
  const MoeLossType *t;

  PetscFunctionBegin;
  PetscCall(MoeLossGet(s->losses[l], &t));
  *truth = (PetscBool)(t->target == MOE_LOSS_FUNCTION || (t->target == MOE_LOSS_ATOMS && MoeSpecPairMatchesTruth(s, g, e)));
  PetscFunctionReturn(0);
}

/* Does loss l apply to fits of pair (g, e)?  Voronoi losses to the gating families that
   declare them, the others to every fit. */
PetscBool MoeSpecLossApplies(const MoeSpec *s, PetscInt l, PetscInt g)
{
  const MoeLossType *t;

  if (MoeLossGet(s->losses[l], &t)) return PETSC_FALSE;
  return (PetscBool)(!t->voronoi || MoeGatingFamilyHasLoss(s->gating_families[g], s->losses[l]));
}

/* Do fits of pair (g, e) need the reference G-bar?  Always when their families differ from the
   truth's (G-bar is their near start and certification reference), and when one of their
   losses is measured against it. */
PetscErrorCode MoeSpecNeedsReference(const MoeSpec *s, PetscInt g, PetscInt e, PetscBool *need)
{
  PetscInt l;

  PetscFunctionBegin;
  *need = (PetscBool)!MoeSpecPairMatchesTruth(s, g, e);
  for (l = 0; l < s->nlosses; l++) {
    PetscBool truth = PETSC_FALSE;
    if (!MoeSpecLossApplies(s, l, g)) continue;
    PetscCall(MoeSpecLossTargetIsTruth(s, l, g, e, &truth));
    if (!truth) *need = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecPairLosses(const MoeSpec *s, PetscInt g, PetscInt e, MoeLossSet *set)
{
  PetscInt l;

  PetscFunctionBegin;
  set->n = s->nlosses;
  set->r = s->loss_r;
  for (l = 0; l < s->nlosses; l++) {
    PetscCall(MoeLossGet(s->losses[l], &set->type[l]));
    set->applies[l] = MoeSpecLossApplies(s, l, g);
    PetscCall(MoeSpecLossTargetIsTruth(s, l, g, e, &set->totruth[l]));
  }
  PetscFunctionReturn(0);
}

/* Which truth the fits of expert index e use: 0 with -truth_expert (one truth for all), else e
   (one truth per expert family). */
PetscInt MoeSpecTruthIndex(const MoeSpec *s, PetscInt e)
{
  return s->truth_expert_family ? 0 : e;
}

PetscErrorCode MoeSpecReadLosses(MPI_Comm comm, MoeSpec *s)
{
  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "moerate losses", "moerate");
  PetscCall(ReadLosses(PetscOptionsObject, s));
  PetscCall(PetscOptionsReal("-loss_r", "exponent r of sigmoid_d2", NULL, s->loss_r, &s->loss_r, NULL));
  PetscCall(PetscOptionsInt("-eval_n", "Monte-Carlo points of the L2 regression error", NULL, s->eval_n, &s->eval_n, NULL));
  PetscCall(PetscOptionsInt("-reference_n", "noise-free sample size of the reference fit G-bar (default 10 x largest n)", NULL, s->reference_n, &s->reference_n, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}
