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
  MOE_OPTION_BOOL
} MoeOptionType;

typedef struct {
  const char   *name; /* e.g. "-topk_K"; NULL ends a list */
  MoeOptionType type;
  const char   *defval;
  const char   *help;
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
PETSC_EXTERN PetscErrorCode MoeFamilyOptionsDeclare(MPI_Comm, const char prefix[], const char title[], const MoeFamilyOption *);

#endif
