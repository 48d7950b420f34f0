#define _GNU_SOURCE /* qsort_r */
/* The order of the work: pending tasks, largest expected cost first.  Reference tasks go
   first; a pair's replicate tasks wait until the pair's reference G-bar is known. */
#include <moeschedule.h>
#include <moedata.h>
#include <moeestimator.h>

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
  PetscCall(PetscMalloc3(G->ntasks, &S->taken, G->ntasks, &S->want, PetscMax(1, G->ntasks), &S->yielded));
  for (i = 0; i < G->ntasks; i++) {
    S->taken[i] = PETSC_FALSE;
    S->want[i]  = 1;
  }
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
  PetscCall(PetscFree3((*S)->taken, (*S)->want, (*S)->yielded));
  PetscCall(PetscFree(*S));
  PetscFunctionReturn(0);
}

/* May a group of `size` ranks run task id?  MOE_WANT_ALONE: only a rank alone. */
static PetscBool Fits(const MoeSchedule *S, PetscInt64 id, PetscInt size)
{
  return (PetscBool)(S->want[id] == MOE_WANT_ALONE ? size == 1 : S->want[id] <= size);
}

/* The first task of ids[from..len) not handed out that a group of `size` may run, or -1. */
static PetscInt64 FirstFor(const MoeSchedule *S, const PetscInt64 *ids, PetscInt64 from, PetscInt64 len, PetscInt size)
{
  for (PetscInt64 j = from; j < len; j++)
    if (!S->taken[ids[j]] && Fits(S, ids[j], size)) return ids[j];
  return -1;
}

/* Skip the handed-out tasks at the head of a queue. */
static void Advance(const MoeSchedule *S, const PetscInt64 *ids, PetscInt64 *pos, PetscInt64 len)
{
  while (*pos < len && S->taken[ids[*pos]]) (*pos)++;
}

PetscInt64 MoeScheduleNextFor(MoeSchedule *S, PetscInt size)
{
  const MoeTask *T    = S->grid->tasks;
  PetscInt64     best = -1;
  PetscInt       q, bq = -1;

  best = FirstFor(S, S->refs, S->refpos, S->nrefs, size);
  if (best < 0 && (best = FirstFor(S, S->yielded, 0, S->nyielded, size)) >= 0) { /* a yielded task is not in its pair's queue any more */
    S->taken[best] = PETSC_TRUE;
    S->remaining--;
    return best;
  }
  if (best < 0)
    for (q = 0; q < S->grid->npairs; q++) {
      PetscInt64 id;
      if (S->blocked[q] || (id = FirstFor(S, S->queue[q], S->pos[q], S->len[q], size)) < 0) continue;
      if (best < 0 || T[id].cost > T[best].cost || (T[id].cost == T[best].cost && id < best)) {
        best = id;
        bq   = q;
      }
    }
  if (best < 0) return -1;
  S->taken[best] = PETSC_TRUE;
  S->remaining--;
  if (bq < 0) Advance(S, S->refs, &S->refpos, S->nrefs);
  else Advance(S, S->queue[bq], &S->pos[bq], S->len[bq]);
  return best;
}

/* The next task to hand out, or -1 if none can start now (all done or waiting for a G-bar). */
PetscInt64 MoeScheduleNext(MoeSchedule *S)
{
  return MoeScheduleNextFor(S, PETSC_MAX_INT);
}

static int CompareSizes(const void *a, const void *b)
{
  PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return x > y ? -1 : (x < y);
}

/* The size a task wants: the smallest power of two of ranks that brings its cost within `half`, at
   most 64, the workers and the chunks of its sample (a group shares whole chunks; a reference fit's
   noise-free sample is spread as a replicate's is). */
static PetscInt WantedSize(const MoeGrid *G, const MoeTask *t, PetscReal half, PetscInt workers)
{
  PetscInt cap = PetscMin(PetscMin(MOE_DATA_CHUNKS, workers), MoeDataChunks(t->n)), w = 1;

  if (t->kind != MOE_TASK_REFERENCE && !MoeEstimatorGetFamily(G->spec->estimator[t->estimator])->groups) return MOE_WANT_ALONE;
  while (w < cap && t->cost / w > half) w *= 2;
  return PetscMin(w, cap);
}

/* The largest of the ng group sizes (descending) that is at most w. */
static PetscInt LargestAtMost(const PetscInt *size, PetscInt ng, PetscInt w)
{
  for (PetscInt j = 0; j < ng; j++)
    if (size[j] <= w) return size[j];
  return 1;
}

/* The automatic rule (bench/simulate.py simulates it): the fair share is the pending tasks' expected
   cost over the workers.  A list schedule ends within the fair share plus its longest task (Graham's
   bound), so a task above half the share wants the ranks that bring it within that half
   (WantedSize): the run then ends within 1.5 shares when the cost model holds, and the half leaves
   room for the large tasks the model underestimates.  Each such task, largest first, gets a group of
   its own while ranks remain (one rank kept alone when an estimator's fits must run alone: sgd, em);
   the other ranks form groups of one.  A task then wants the largest group formed that is at most its
   size, so that the groups of one are never left only larger work. */
PetscErrorCode MoeScheduleGroupLayout(MoeSchedule *S, PetscInt workers, PetscInt *size, PetscInt *ngroups)
{
  const MoeGrid *G = S->grid;
  PetscInt64    *ids, npending = 0, i;
  PetscReal      total = 0, half;
  PetscInt       used = 0, ng = 0, limit = workers;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(1, G->ntasks), &ids));
  for (i = S->refpos; i < S->nrefs; i++)
    if (!S->taken[S->refs[i]]) ids[npending++] = S->refs[i];
  for (PetscInt q = 0; q < G->npairs; q++)
    for (i = S->pos[q]; i < S->len[q]; i++)
      if (!S->taken[S->queue[q][i]]) ids[npending++] = S->queue[q][i];
  for (i = 0; i < npending; i++) total += G->tasks[ids[i]].cost;
  half = S->half = total / workers / 2;
  SortByCost(G, ids, npending);
  for (i = 0; i < npending; i++)
    if ((S->want[ids[i]] = WantedSize(G, &G->tasks[ids[i]], half, workers)) == MOE_WANT_ALONE) limit = workers - 1;
  for (i = 0; i < npending; i++) {
    PetscInt w = S->want[ids[i]];
    if (w > 1 && used + w <= limit) {
      size[ng++] = w;
      used += w;
    }
  }
  for (; used < workers; used++) size[ng++] = 1;
  qsort(size, (size_t)ng, sizeof(PetscInt), CompareSizes);
  for (i = 0; i < npending; i++)
    if (S->want[ids[i]] != MOE_WANT_ALONE) S->want[ids[i]] = LargestAtMost(size, ng, S->want[ids[i]]);
  *ngroups = ng;
  PetscCall(PetscFree(ids));
  PetscFunctionReturn(0);
}

void MoeScheduleUnblock(MoeSchedule *S, PetscInt pair)
{
  S->blocked[pair] = PETSC_FALSE;
}

PetscErrorCode MoeScheduleYield(MoeSchedule *S, PetscInt64 id, PetscInt size)
{
  PetscFunctionBegin;
  PetscCheck(S->taken[id], PETSC_COMM_SELF, PETSC_ERR_PLIB, "task %lld was not handed out", (long long)id);
  PetscCheck(S->nyielded < S->grid->ntasks, PETSC_COMM_SELF, PETSC_ERR_PLIB, "more yields than tasks");
  S->taken[id]                = PETSC_FALSE;
  S->want[id]                 = size;
  S->yielded[S->nyielded++] = id;
  S->remaining++;
  PetscFunctionReturn(0);
}
