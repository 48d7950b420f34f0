/* Names in the spec: lists of names, and family names resolved through their registries. */
#include <moe/private/specimpl.h>

/* A list option: names, no duplicates, at least one entry. */
PetscErrorCode MoeSpecReadNameList(PetscOptionItems *PetscOptionsObject, const char opt[], const char help[], char list[][MOE_NAME_LEN], PetscInt *n, const char deflt[], PetscBool *set)
{
  char    *vals[MOE_MAX_LIST + 1];
  PetscInt i, j, nmax = MOE_MAX_LIST + 1; /* one more than fits: a longer list is refused, not cut */

  PetscFunctionBegin;
  PetscCall(PetscOptionsStringArray(opt, help, NULL, vals, &nmax, set));
  if (!*set) {
    PetscBool given;
    PetscCall(PetscOptionsHasName(NULL, NULL, opt, &given));
    MoeUserCheck(!given, "%s is empty: give at least one name (e.g. %s %s)", opt, opt, deflt);
    *n = 1;
    PetscCall(PetscStrncpy(list[0], deflt, MOE_NAME_LEN));
    PetscFunctionReturn(0);
  }
  MoeUserCheck(nmax > 0 && vals[0][0], "%s is empty: give at least one name (e.g. %s %s)", opt, opt, deflt);
  MoeUserCheck(nmax <= MOE_MAX_LIST, "%s lists more than %d names: split the experiment", opt, MOE_MAX_LIST);
  for (i = 0; i < nmax; i++) {
    PetscCall(PetscStrncpy(list[i], vals[i], MOE_NAME_LEN));
    PetscCall(PetscFree(vals[i]));
  }
  *n = nmax;
  for (i = 0; i < *n; i++) {
    MoeUserCheck(list[i][0], "%s has an empty entry: remove the extra comma", opt);
    for (j = 0; j < i; j++) {
      PetscBool same;
      PetscCall(PetscStrcmp(list[i], list[j], &same));
      MoeUserCheck(!same, "%s lists '%s' twice: give each entry once", opt, list[i]);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecResolveGatings(const char opt[], const char list[][MOE_NAME_LEN], PetscInt n, const MoeGatingFamily **f)
{
  PetscInt i;
  char     known[256];

  PetscFunctionBegin;
  for (i = 0; i < n; i++) {
    PetscCall(MoeGatingFamilyFind(list[i], &f[i]));
    if (f[i]) continue;
    PetscCall(MoeGatingTypesString(known, sizeof(known)));
    PetscCall(MoeUnknownName(opt, list[i], "gating family", known));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecResolveExperts(const char opt[], const char list[][MOE_NAME_LEN], PetscInt n, const MoeExpertFamily **f)
{
  PetscInt i;
  char     known[256];

  PetscFunctionBegin;
  for (i = 0; i < n; i++) {
    PetscCall(MoeExpertFamilyFind(list[i], &f[i]));
    if (f[i]) continue;
    PetscCall(MoeExpertTypesString(known, sizeof(known)));
    PetscCall(MoeUnknownName(opt, list[i], "expert family", known));
  }
  PetscFunctionReturn(0);
}
