/* The task grid of an experiment (see moegrid.h for the numbering). */
#include <moegrid.h>
#include <moeestimator.h>

static PetscErrorCode PairSize(const MoeSpec *s, PetscInt g, PetscInt e, PetscInt *p, PetscInt *pfree)
{
  MoeModel m;

  PetscFunctionBegin;
  PetscCall(MoeModelCreate(s->gatings[g], s->experts[e], s->k, s->d, s->opts, NULL, &m));
  *p     = m->p;
  *pfree = m->pfree;
  PetscCall(MoeModelDestroy(&m));
  PetscFunctionReturn(0);
}

/* Task t = id: a fit of replicate r's data at the i-th n by estimator k of pair q (restart j, 0 for the replicate's own fit). */
static void SetFit(MoeGrid *G, MoeTask *t, PetscInt64 id, MoeTaskKind kind, PetscInt q, PetscInt k, PetscInt i, PetscInt r, PetscInt j)
{
  const MoeSpec *s = G->spec;
  const MoePair *P = &G->pairs[q];

  t->id        = id;
  t->kind      = kind;
  t->gating    = P->gating;
  t->expert    = P->expert;
  t->estimator = k;
  t->pair      = q;
  t->n         = s->ns[i];
  t->replicate = r;
  t->restart   = j;
  t->cost      = MoeEstimatorCost(s->estimator[k], s, t->n, P->pfree);
}

PetscErrorCode MoeGridCreate(const MoeSpec *s, MoeGrid **grid)
{
  MoeGrid   *G;
  PetscInt   g, e, i, r, q, k, j, nref = 0, ntheory = 0;
  PetscInt64 id;

  PetscFunctionBegin;
  PetscCall(PetscNew(&G));
  G->spec   = s;
  G->npairs = s->ngatings * s->nexperts;
  PetscCall(PetscCalloc1(G->npairs, &G->pairs));
  for (g = 0; g < s->ngatings; g++)
    for (e = 0; e < s->nexperts; e++) {
      MoePair *P = &G->pairs[g * s->nexperts + e];
      P->gating  = g;
      P->expert  = e;
      PetscCall(PairSize(s, g, e, &P->p, &P->pfree));
      PetscCall(MoeSpecNeedsReference(s, g, e, &P->reference));
      G->pmax = PetscMax(G->pmax, P->p);
      if (P->reference) nref++;
    }
  for (k = 0; k < s->nestimators; k++) ntheory += MoeEstimatorGetFamily(s->estimator[k])->theory ? 1 : 0;
  G->nreplicate = (PetscInt64)G->npairs * s->nestimators * s->nn * s->replicates;
  G->nrestart   = (PetscInt64)G->npairs * ntheory * s->nn * s->stability_replicates * s->stability_starts;
  G->ntasks     = G->nreplicate + nref + G->nrestart;
  PetscCall(PetscCalloc1(G->ntasks, &G->tasks));
  for (q = 0, id = 0; q < G->npairs; q++)
    for (k = 0; k < s->nestimators; k++)
      for (i = 0; i < s->nn; i++)
        for (r = 0; r < s->replicates; r++, id++) SetFit(G, &G->tasks[id], id, MOE_TASK_REPLICATE, q, k, i, r, 0);
  for (q = 0; q < G->npairs; q++) {
    MoePair *P = &G->pairs[q];
    MoeTask *t;
    P->reference_id = -1;
    if (!P->reference) continue;
    t               = &G->tasks[id];
    t->id           = id;
    t->kind         = MOE_TASK_REFERENCE;
    t->gating       = P->gating;
    t->expert       = P->expert;
    t->pair         = q;
    t->n            = s->reference_n;
    t->replicate    = 0;
    t->cost         = (PetscReal)t->n * P->pfree * P->pfree * s->init_starts;
    P->reference_id = id++;
  }
  for (q = 0; q < G->npairs; q++) /* restarts: a replicate's fit again from other starts (the stability diagnostic) */
    for (k = 0; k < s->nestimators; k++)
      for (i = 0; i < s->nn && MoeEstimatorGetFamily(s->estimator[k])->theory; i++)
        for (r = 0; r < s->stability_replicates; r++)
          for (j = 1; j <= s->stability_starts; j++, id++) SetFit(G, &G->tasks[id], id, MOE_TASK_RESTART, q, k, i, r, j);
  *grid = G;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeGridDestroy(MoeGrid **G)
{
  PetscFunctionBegin;
  if (!*G) PetscFunctionReturn(0);
  PetscCall(PetscFree((*G)->tasks));
  PetscCall(PetscFree((*G)->pairs));
  PetscCall(PetscFree(*G));
  PetscFunctionReturn(0);
}
