/* The registry of estimators and their objects (moeestimator.h): every room may consult them. */
#include <moe/private/estimatorimpl.h>

static MoeRegistry registry = {"estimators", 0, {NULL}, {NULL}};

MOE_REGISTRY_FRONT_END(MoeEstimator, MoeEstimatorFamily, registry, MoeEstimatorRegisterAll)

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

PetscErrorCode MoeEstimatorTaoPrefixes(const char *const **prefixes)
{
  static const char *list[MOE_MAX_FAMILIES + 1];
  PetscInt           i, n = 0;

  PetscFunctionBegin;
  PetscCall(MoeEstimatorRegisterAll());
  for (i = 0; i < registry.n; i++) {
    const MoeEstimatorFamily *f = (const MoeEstimatorFamily *)registry.items[i];
    if (f->tao_prefix) list[n++] = f->tao_prefix;
  }
  list[n]   = NULL;
  *prefixes = list;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeEstimatorCreate(const char name[], PetscOptions opts, MoeEstimator *est)
{
  const MoeEstimatorFamily *f = NULL;
  MoeEstimator              e;

  PetscFunctionBegin;
  PetscCall(MoeEstimatorFamilyFind(name, &f));
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_ARG_UNKNOWN_TYPE, "no estimator %s", name);
  PetscCall(PetscNew(&e));
  e->family = f;
  e->opts   = opts;
  PetscCall((*f->create)(e));
  e->solver.certificate_suffices = f->certificate_suffices; /* a trait of the estimator, used by its solver's certification */
  *est = e;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeEstimatorDestroy(MoeEstimator *est)
{
  PetscFunctionBegin;
  if (!*est) PetscFunctionReturn(0);
  if ((*est)->ops.destroy) PetscCall((*(*est)->ops.destroy)(*est)); /* what data owns */
  PetscCall(PetscFree((*est)->data));
  PetscCall(PetscFree(*est));
  PetscFunctionReturn(0);
}

const MoeEstimatorFamily *MoeEstimatorGetFamily(MoeEstimator est)
{
  return est->family;
}

PetscReal MoeEstimatorCost(MoeEstimator est, const MoeSpec *spec, PetscInt64 n, PetscInt pfree)
{
  return (*est->ops.cost)(est, spec, n, pfree);
}

PetscErrorCode MoeEstimatorView(MoeEstimator est, char *buf, size_t len)
{
  PetscFunctionBegin;
  if (est->ops.view) PetscCall((*est->ops.view)(est, buf, len));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeEstimatorInertSetting(MoeEstimator est, MoeModel m, const char **option, const char **applies)
{
  PetscFunctionBegin;
  *option = *applies = NULL;
  if (est->ops.inert) PetscCall((*est->ops.inert)(est, m, option, applies));
  PetscFunctionReturn(0);
}

PetscBool MoeEstimatorEstimates(const MoeEstimatorFamily *f, MoeModelType type)
{
  return (PetscBool)((f->models & MOE_MODEL_MASK(type)) != 0);
}
