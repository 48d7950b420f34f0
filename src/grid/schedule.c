#define _GNU_SOURCE /* qsort_r */
/* The order of the work: pending tasks, largest expected cost first.  Reference tasks go
   first; a pair's replicate tasks wait until the pair's reference G-bar is known. */
#include <moeschedule.h>

/* cost descending, then id ascending: a fixed order */
static int CompareTasks(const void *a, const void *b, void *ctx)
{
  const MoeTask *T = (const MoeTask *)ctx, *x = &T[*(const PetscInt64 *)a], *y = &T[*(const PetscInt64 *)b];
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  return x->id < y->id ? -1 : (x->id > y->id);
}

static void SortByCost(const MoeGrid *G, PetscInt64 *ids, PetscInt64 n)
{
  qsort_r(ids, (size_t)n, sizeof(PetscInt64), CompareTasks, (void *)G->tasks);
}

PetscErrorCode MoeScheduleCreate(const MoeGrid *G, const MoeResults *R, MoeSchedule **schedule)
{
  MoeSchedule *S;
  PetscInt64   i;
  PetscInt     q;

  PetscFunctionBegin;
  PetscCall(PetscNew(&S));
  S->grid = G;
  PetscCall(PetscCalloc4(G->npairs, &S->queue, G->npairs, &S->len, G->npairs, &S->pos, G->npairs, &S->blocked));
  PetscCall(PetscMalloc1(G->npairs, &S->refs));
  for (q = 0; q < G->npairs; q++) PetscCall(PetscMalloc1((G->nreplicate + G->nrestart) / G->npairs, &S->queue[q]));
  for (i = 0; i < G->ntasks; i++) {
    const MoeTask *t = &G->tasks[i];
    if (R->records[i].status != MOE_FIT_PENDING) continue;
    if (t->kind == MOE_TASK_REFERENCE) S->refs[S->nrefs++] = i;
    else S->queue[t->pair][S->len[t->pair]++] = i;
    S->remaining++;
  }
  for (q = 0; q < G->npairs; q++) {
    const MoePair *P = &G->pairs[q];
    SortByCost(G, S->queue[q], S->len[q]);
    S->blocked[q] = (PetscBool)(P->reference && R->records[P->reference_id].status == MOE_FIT_PENDING);
  }
  SortByCost(G, S->refs, S->nrefs);
  *schedule = S;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeScheduleDestroy(MoeSchedule **S)
{
  PetscInt q;

  PetscFunctionBegin;
  if (!*S) PetscFunctionReturn(0);
  for (q = 0; q < (*S)->grid->npairs; q++) PetscCall(PetscFree((*S)->queue[q]));
  PetscCall(PetscFree4((*S)->queue, (*S)->len, (*S)->pos, (*S)->blocked));
  PetscCall(PetscFree((*S)->refs));
  PetscCall(PetscFree(*S));
  PetscFunctionReturn(0);
}

/* The next task to hand out, or -1 if none can start now (all done or waiting for a G-bar). */
PetscInt64 MoeScheduleNext(MoeSchedule *S)
{
  const MoeTask *T    = S->grid->tasks;
  PetscInt64     best = -1;
  PetscInt       q, bq = -1;

  if (S->refpos < S->nrefs) {
    S->remaining--;
    return S->refs[S->refpos++];
  }
  for (q = 0; q < S->grid->npairs; q++) {
    PetscInt64 id;
    if (S->blocked[q] || S->pos[q] >= S->len[q]) continue;
    id = S->queue[q][S->pos[q]];
    if (best < 0 || T[id].cost > T[best].cost || (T[id].cost == T[best].cost && id < best)) {
      best = id;
      bq   = q;
    }
  }
  if (best >= 0) {
    S->pos[bq]++;
    S->remaining--;
  }
  return best;
}

void MoeScheduleUnblock(MoeSchedule *S, PetscInt pair)
{
  S->blocked[pair] = PETSC_FALSE;
}
