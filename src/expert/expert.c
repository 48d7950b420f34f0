/* Expert families: creation by name, and the FFN experts phi(a^T x + b) shared by the
   activation files (relu.c, gelu.c, sigmoid.c, tanh.c, linear.c). */
#include <moe/private/modelimpl.h>

const char *const MoeIdentifiabilities[] = {"strong", "linear", "constant", "MoeIdentifiability", "MOE_IDENTIFIABLE_", NULL};

static MoeRegistry registry = {"expert families", 0, {NULL}, {NULL}};

MOE_REGISTRY_FRONT_END(MoeExpert, MoeExpertFamily, registry, MoeExpertRegisterAll)

static PetscErrorCode MoeExpertEvaluate_FFN(MoeExpert e, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh)
{
  PetscInt  j, d = e->d;
  PetscReal z = eta[d];

  PetscFunctionBegin;
  for (j = 0; j < d; j++) z += eta[j] * x[j];
  *h = e->phi(z);
  if (dh) {
    PetscReal dz = e->dphi(z);
    for (j = 0; j < d; j++) dh[j] = dz * x[j];
    dh[d] = dz;
  }
  PetscFunctionReturn(0);
}

/* Make e an FFN expert h = phi(a^T x + b) with eta = (a, b). */
PetscErrorCode MoeExpertSetUpFFN(MoeExpert e, MoeActivationFn phi, MoeActivationFn dphi)
{
  PetscFunctionBegin;
  e->ne           = e->d + 1;
  e->phi          = phi;
  e->dphi         = dphi;
  e->ops.evaluate = MoeExpertEvaluate_FFN;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExpertCreate(const char type[], PetscInt d, MoeExpert *expert)
{
  const MoeExpertFamily *f = NULL;
  MoeExpert              e;

  PetscFunctionBegin;
  PetscCall(MoeExpertFamilyFind(type, &f));
  if (!f) {
    char known[256];
    PetscCall(MoeExpertTypesString(known, sizeof(known)));
    PetscCall(MoeUnknownName("-expert", type, "expert family", known));
  }
  PetscCall(PetscNew(&e));
  e->family = f;
  e->d      = d;
  PetscCall((*f->create)(e));
  *expert = e;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExpertDestroy(MoeExpert *e)
{
  PetscFunctionBegin;
  if (!*e) PetscFunctionReturn(0);
  if ((*e)->ops.destroy) PetscCall((*(*e)->ops.destroy)(*e));
  PetscCall(PetscFree(*e));
  PetscFunctionReturn(0);
}
