/* The registry of estimators (moeestimator.h). */
#include <moeestimator.h>

static MoeRegistry registry = {"estimators", 0, {NULL}, {NULL}};

PetscErrorCode MoeEstimatorRegister(const MoeEstimatorFamily *f)
{
  PetscFunctionBegin;
  PetscCall(MoeRegistryAdd(&registry, f->name, f));
  PetscFunctionReturn(0);
}

/* The estimator registered as `name`, or NULL. */
PetscErrorCode MoeEstimatorFamilyFind(const char name[], const MoeEstimatorFamily **f)
{
  PetscFunctionBegin;
  PetscCall(MoeEstimatorRegisterAll());
  *f = (const MoeEstimatorFamily *)MoeRegistryFind(&registry, name);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeEstimatorTypesString(char *buf, size_t len)
{
  PetscFunctionBegin;
  PetscCall(MoeEstimatorRegisterAll());
  PetscCall(MoeRegistryNames(&registry, buf, len));
  PetscFunctionReturn(0);
}

/* Every estimator's options, one -help block each. */
PetscErrorCode MoeEstimatorOptionsDeclare(MPI_Comm comm)
{
  PetscInt i;
  char     title[128];

  PetscFunctionBegin;
  PetscCall(MoeEstimatorRegisterAll());
  for (i = 0; i < registry.n; i++) {
    const MoeEstimatorFamily *f = (const MoeEstimatorFamily *)registry.items[i];
    if (!f->options) continue;
    PetscCall(PetscSNPrintf(title, sizeof(title), "moerate fit: the %s estimator", f->name));
    PetscCall(MoeFamilyOptionsDeclare(comm, NULL, title, f->options));
  }
  PetscFunctionReturn(0);
}
