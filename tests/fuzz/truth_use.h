/* What a harness does with a truth file: read it the way `moerate run -truth_file PATH` does
   (MoeStoreReadTruthFile, which takes PATH from the options database), then build each truth it holds
   (MoeTruthCreate: the truth's model from its families, k*, d and gating options; theta's length, finite
   values and pinned entries checked) as the spec would for the fits of that truth's expert family. */
#ifndef MOE_FUZZ_TRUTH_USE_H
#define MOE_FUZZ_TRUTH_USE_H

#include "fuzz_common.h"

static void FzUseTruthFile(const char path[])
{
  MoeTruthFile *tf = NULL;

  if (PetscOptionsSetValue(NULL, "-truth_file", path)) abort();
  if (FzSays("MoeStoreReadTruthFile", MoeStoreReadTruthFile(PETSC_COMM_SELF, &tf)) || !tf) return; /* refused: what is left is reclaimed */
  for (PetscInt i = 0; i < tf->n; i++) {
    MoeSpec  *spec = calloc(1, sizeof(MoeSpec)); /* only what MoeTruthCreate reads of a spec */
    MoeTruth *t    = NULL;
    spec->truthfile          = tf;
    spec->nexperts           = 1;
    spec->expert_families[0] = tf->truths[i].expert;
    snprintf(spec->truth_file, sizeof(spec->truth_file), "%s", path);
    if (!FzSays("MoeTruthCreate", MoeTruthCreate(spec, 0, &t))) MoeTruthDestroy(&t);
    free(spec);
  }
  MoeTruthFileDestroy(&tf);
  PetscOptionsClearValue(NULL, "-truth_file");
}

#endif
