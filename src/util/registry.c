/* What the family registries share: name lists and the declaration of family options (moeregistry.h). */
#include <moeregistry.h>

PetscErrorCode MoeRegistryAdd(MoeRegistry *r, const char name[], const void *item)
{
  PetscFunctionBegin;
  PetscCheck(r->n < MOE_MAX_FAMILIES, PETSC_COMM_SELF, PETSC_ERR_SUP, "more than %d of %s", MOE_MAX_FAMILIES, r->what);
  r->names[r->n]   = name;
  r->items[r->n++] = item;
  PetscFunctionReturn(0);
}

/* The item registered as `name`, or NULL. */
const void *MoeRegistryFind(const MoeRegistry *r, const char name[])
{
  PetscInt i;

  for (i = 0; i < r->n; i++)
    if (!strcmp(name, r->names[i])) return r->items[i];
  return NULL;
}

/* "a, b, c" */
PetscErrorCode MoeRegistryNames(const MoeRegistry *r, char *buf, size_t len)
{
  PetscInt i;

  PetscFunctionBegin;
  buf[0] = 0;
  for (i = 0; i < r->n; i++) {
    if (i) PetscCall(PetscStrlcat(buf, ", ", len));
    PetscCall(PetscStrlcat(buf, r->names[i], len));
  }
  PetscFunctionReturn(0);
}

/* Is name one of the entries of the comma list (NULL: none)? */
PetscBool MoeNameInList(const char name[], const char list[])
{
  size_t n = strlen(name);
  const char *p = list;

  if (!list) return PETSC_FALSE;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t      l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !strncmp(p, name, n)) return PETSC_TRUE;
    if (!e) break;
    p = e + 1;
  }
  return PETSC_FALSE;
}

/* One -help block of a family's options; reading them here also marks them used when a
   spec sets an option of a family it does not fit (a spec file shared by several runs). */
PetscErrorCode MoeFamilyOptionsDeclare(MPI_Comm comm, const char prefix[], const char title[], const MoeFamilyOption *o)
{
  PetscFunctionBegin;
  PetscOptionsBegin(comm, prefix, title, "moerate");
  for (; o->name; o++) {
    switch (o->type) {
    case MOE_OPTION_INT: {
      PetscInt v = (PetscInt)atoi(o->defval);
      PetscCall(PetscOptionsInt(o->name, o->help, NULL, v, &v, NULL));
    } break;
    case MOE_OPTION_REAL: {
      PetscReal v = (PetscReal)atof(o->defval);
      PetscCall(PetscOptionsReal(o->name, o->help, NULL, v, &v, NULL));
    } break;
    case MOE_OPTION_BOOL: {
      PetscBool v = (PetscBool)(o->defval[0] == '1' || o->defval[0] == 't');
      PetscCall(PetscOptionsBool(o->name, o->help, NULL, v, &v, NULL));
    } break;
    case MOE_OPTION_STRING: {
      char v[256];
      PetscCall(PetscStrncpy(v, o->defval, sizeof(v)));
      PetscCall(PetscOptionsString(o->name, o->help, NULL, v, v, sizeof(v), NULL));
    } break;
    case MOE_OPTION_REAL_ARRAY: {
      PetscReal v[256] = {(PetscReal)atof(o->defval)};
      PetscInt  nv = 1;
      PetscCall(PetscOptionsRealArray(o->name, o->help, NULL, v, &nv, NULL));
    } break;
    }
  }
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscBool MoeLooksNumeric(const char *s)
{
  char *end;
  (void)strtod(s, &end);
  return (PetscBool)(end != s && *end == 0);
}

/* One line for a name none of the registered families has, naming the option and the choices. */
PetscErrorCode MoeUnknownName(const char opt[], const char name[], const char what[], const char known[])
{
  PetscFunctionBegin;
  if (MoeLooksNumeric(name)) MoeUserError("%s: '%s' is a number, not the name of any %s; choose from: %s", opt, name, what, known);
  MoeUserError("%s: unknown %s '%s'; choose from: %s", opt, what, name, known);
  PetscFunctionReturn(0);
}
