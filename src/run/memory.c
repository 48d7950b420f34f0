/* The master's results in memory (moerun.h): every record, loss and theta of the grid, with the
   truths and fitted models the results file describes, made once. */
#include <moerun.h>

/* truths: the screened truths (MoeTruthSelect), adopted; NULL: made and screened here. */
PetscErrorCode MoeResultsCreate(const MoeGrid *G, MoeTruth **truths, MoeResults **results)
{
  MoeResults *R;
  PetscInt64  i, j;
  PetscInt    L = G->spec->nlosses;

  PetscFunctionBegin;
  PetscCall(PetscNew(&R));
  R->grid = G;
  PetscCall(PetscCalloc1(G->ntasks, &R->records));
  PetscCall(PetscMalloc2(G->ntasks * L, &R->losses, G->ntasks * G->pmax, &R->theta));
  for (i = 0; i < G->ntasks; i++) {
    MoeRecordInit(G, i, &R->records[i]);
    for (j = 0; j < L; j++) R->losses[i * L + j] = MOE_NAN;
    for (j = 0; j < G->pmax; j++) R->theta[i * G->pmax + j] = MOE_NAN;
  }
  PetscCall(PetscCalloc1(G->spec->nexperts, &R->truths));
  for (i = 0; i < G->spec->nexperts; i++) {
    if (truths && truths[MoeSpecTruthIndex(G->spec, i)] && i == MoeSpecTruthIndex(G->spec, i)) {
      R->truths[i] = truths[i]; /* adopted */
      truths[i]    = NULL;
      continue;
    }
    PetscCall(MoeTruthCreate(G->spec, i, &R->truths[i]));
    PetscCall(MoeTruthScreen(G->spec, R->truths[i]));
  }
  PetscCall(PetscCalloc1(G->npairs, &R->models));
  for (i = 0; i < G->npairs; i++) PetscCall(MoeModelCreate(G->spec->gatings[G->pairs[i].gating], G->spec->experts[G->pairs[i].expert], G->spec->k, G->spec->d, G->spec->opts, NULL, &R->models[i]));
  *results = R;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsDestroy(MoeResults **R)
{
  PetscFunctionBegin;
  if (!*R) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < (*R)->grid->spec->nexperts; i++) PetscCall(MoeTruthDestroy(&(*R)->truths[i]));
  for (PetscInt i = 0; i < (*R)->grid->npairs; i++) PetscCall(MoeModelDestroy(&(*R)->models[i]));
  PetscCall(PetscFree((*R)->models));
  PetscCall(PetscFree((*R)->truths));
  PetscCall(PetscFree((*R)->records));
  PetscCall(PetscFree2((*R)->losses, (*R)->theta));
  PetscCall(PetscFree((*R)->sessions));
  PetscCall(PetscFree(*R));
  PetscFunctionReturn(0);
}

