/*
   What the registries of families (gatings, experts, losses, estimators) share, in src/util/registry.c: a
   table of names and items, comma lists of names, and the options a family declares with their help.
*/
#ifndef MOEREGISTRY_H
#define MOEREGISTRY_H

#include <moerate.h>

/* An option a family reads (without prefix; truths read it with the prefix "truth_"). */
typedef enum {
  MOE_OPTION_INT,
  MOE_OPTION_REAL,
  MOE_OPTION_BOOL,
  MOE_OPTION_STRING,
  MOE_OPTION_REAL_ARRAY
} MoeOptionType;

typedef struct {
  const char   *name; /* e.g. "-topk_K"; NULL ends a list */
  MoeOptionType type;
  const char   *defval;
  const char   *help;
  const char   *other; /* a string option: another of its values (the tests set it besides the default), else NULL */
} MoeFamilyOption;

/* Families by name, in registration order. */
#define MOE_MAX_FAMILIES 64
typedef struct {
  const char *what; /* "gating family", ... for messages */
  PetscInt    n;
  const char *names[MOE_MAX_FAMILIES];
  const void *items[MOE_MAX_FAMILIES];
} MoeRegistry;
PETSC_EXTERN PetscErrorCode MoeRegistryAdd(MoeRegistry *, const char name[], const void *item);
PETSC_EXTERN const void    *MoeRegistryFind(const MoeRegistry *, const char name[]);
PETSC_EXTERN PetscErrorCode MoeRegistryNames(const MoeRegistry *, char *, size_t);
PETSC_EXTERN PetscBool      MoeNameInList(const char name[], const char list[]);
/* Whether a word reads as a number; one line for a name no family of a registry has (known: the choices). */
PETSC_EXTERN PetscBool      MoeLooksNumeric(const char *);
PETSC_EXTERN PetscErrorCode MoeUnknownName(const char opt[], const char name[], const char what[], const char known[]);
PETSC_EXTERN PetscErrorCode MoeFamilyOptionsDeclare(MPI_Comm, const char prefix[], const char title[], const MoeFamilyOption *);

/* The front end of a registry of families, defined once for every kind of family (as PETSc's XXXRegister
   and friends): Prefix##Register(family), Prefix##Families(&n, &list), Prefix##FamilyFind(name, &family)
   (NULL when none) and Prefix##TypesString(buf, len), over the static MoeRegistry `registry` that
   RegisterAll fills on first use.  Type is the family's traits struct. */
#define MOE_REGISTRY_FRONT_END(Prefix, Type, registry, RegisterAll) \
  PetscErrorCode Prefix##Register(const Type *f) \
  { \
    PetscFunctionBegin; \
    PetscCall(MoeRegistryAdd(&registry, f->name, f)); \
    PetscFunctionReturn(0); \
  } \
  PetscErrorCode Prefix##Families(PetscInt *n, const Type *const **list) \
  { \
    PetscFunctionBegin; \
    PetscCall(RegisterAll()); \
    *n    = registry.n; \
    *list = (const Type *const *)registry.items; \
    PetscFunctionReturn(0); \
  } \
  PetscErrorCode Prefix##FamilyFind(const char name[], const Type **f) \
  { \
    PetscFunctionBegin; \
    PetscCall(RegisterAll()); \
    *f = (const Type *)MoeRegistryFind(&registry, name); \
    PetscFunctionReturn(0); \
  } \
  PetscErrorCode Prefix##TypesString(char *buf, size_t len) \
  { \
    PetscFunctionBegin; \
    PetscCall(RegisterAll()); \
    PetscCall(MoeRegistryNames(&registry, buf, len)); \
    PetscFunctionReturn(0); \
  }

#endif
