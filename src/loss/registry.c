/* The registry of loss types (moelosstype.h). */
#include <moelosstype.h>

const char *const MoeLossTargets[] = {"function", "atoms", "reference", "MoeLossTarget", "MOE_LOSS_", NULL};

static MoeLossType MoeLossTypes[MOE_MAX_FAMILIES];
static MoeRegistry registry = {"loss types", 0, {NULL}, {NULL}};

PetscErrorCode MoeLossRegister(const char name[], MoeLossFn fn, MoeLossTarget target, PetscBool voronoi, const char meaning[])
{
  PetscFunctionBegin;
  PetscCheck(registry.n < MOE_MAX_FAMILIES, PETSC_COMM_SELF, PETSC_ERR_SUP, "too many losses");
  MoeLossTypes[registry.n] = (MoeLossType){name, fn, target, voronoi, meaning, PETSC_FALSE, voronoi, NULL};
  PetscCall(MoeRegistryAdd(&registry, name, &MoeLossTypes[registry.n]));
  PetscFunctionReturn(0);
}

/* A parameter loss of every fitted gating that -losses auto leaves out: computed when named. */
PetscErrorCode MoeLossRegisterOptIn(const char name[], MoeLossFn fn, MoeLossTarget target, const char meaning[])
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister(name, fn, target, PETSC_FALSE, meaning));
  MoeLossTypes[registry.n - 1].optin = PETSC_TRUE;
  MoeLossTypes[registry.n - 1].atoms = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* An opt-in parameter loss with a context (a family of losses sharing one function). */
PetscErrorCode MoeLossRegisterOptInContext(const char name[], MoeLossFn fn, const void *ctx, const char meaning[])
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterOptIn(name, fn, MOE_LOSS_ATOMS, meaning));
  MoeLossTypes[registry.n - 1].ctx = ctx;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossRegisterAtoms(const char name[], MoeLossFn fn, const void *ctx, const char meaning[])
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegister(name, fn, MOE_LOSS_ATOMS, PETSC_FALSE, meaning));
  MoeLossTypes[registry.n - 1].atoms = PETSC_TRUE;
  MoeLossTypes[registry.n - 1].ctx   = ctx;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossNames(PetscInt *n, const char *const **names)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterAll());
  *n     = registry.n;
  *names = (const char *const *)registry.names;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossGet(const char name[], const MoeLossType **type)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterAll());
  *type = (const MoeLossType *)MoeRegistryFind(&registry, name);
  if (!*type) {
    char known[512];
    PetscCall(MoeLossTypesString(known, sizeof(known)));
    PetscCall(MoeUnknownName("-losses", name, "loss", known));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossTypesString(char *buf, size_t len)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterAll());
  PetscCall(MoeRegistryNames(&registry, buf, len));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeLossGatingFamilies(const char loss[], char *buf, size_t len)
{
  const MoeGatingFamily *const *f;
  const MoeLossType            *t;
  PetscInt                      n, i;

  PetscFunctionBegin;
  PetscCall(MoeLossGet(loss, &t));
  buf[0] = 0;
  if (!t->voronoi) {
    PetscCall(PetscStrncpy(buf, "every gating", len));
    PetscFunctionReturn(0);
  }
  PetscCall(MoeGatingFamilies(&n, &f));
  for (i = 0; i < n; i++) {
    if (!MoeGatingFamilyHasLoss(f[i], loss)) continue;
    if (buf[0]) PetscCall(PetscStrlcat(buf, ",", len));
    PetscCall(PetscStrlcat(buf, f[i]->name, len));
  }
  PetscFunctionReturn(0);
}
