/* Expert families: creation by name, and the FFN experts phi(a^T x + b) shared by the
   activation files (relu.c, gelu.c, sigmoid.c, tanh.c, linear.c). */
#include <moemodel.h>

PetscFunctionList MoeExpertList = NULL;

PetscErrorCode MoeExpertRegister(const char name[], PetscErrorCode (*create)(MoeExpert))
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListAdd(&MoeExpertList, name, create));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExpertTypesString(char *buf, size_t len)
{
  PetscFunctionBegin;
  PetscCall(MoeExpertRegisterAll());
  PetscCall(MoeFunctionListNames(MoeExpertList, buf, len));
  PetscFunctionReturn(0);
}

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
PetscErrorCode MoeExpertSetUpFFN(MoeExpert e, MoeActivationFn phi, MoeActivationFn dphi, PetscBool hinge)
{
  PetscFunctionBegin;
  e->ne           = e->d + 1;
  e->phi          = phi;
  e->dphi         = dphi;
  e->hinge        = hinge;
  e->ops.evaluate = MoeExpertEvaluate_FFN;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExpertCreate(const char type[], PetscInt d, MoeExpert *expert)
{
  PetscErrorCode (*create)(MoeExpert) = NULL;
  MoeExpert e;

  PetscFunctionBegin;
  PetscCall(MoeExpertRegisterAll());
  PetscCall(PetscFunctionListFind(MoeExpertList, type, &create));
  if (!create) {
    char known[256];
    PetscCall(MoeExpertTypesString(known, sizeof(known)));
    MoeUserError("-expert: unknown expert family '%s'; choose one of: %s", type, known);
  }
  PetscCall(PetscNew(&e));
  PetscCall(PetscStrncpy(e->type, type, sizeof(e->type)));
  e->d = d;
  PetscCall((*create)(e));
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
