/* The git revision the binary was built from (written into gitrev.c at every build). */
#include <moerate.h>

extern const char *moerate_git_revision;

PetscErrorCode MoeGitRevision(const char **rev)
{
  PetscFunctionBegin;
  *rev = moerate_git_revision;
  PetscFunctionReturn(0);
}
