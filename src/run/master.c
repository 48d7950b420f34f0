/* The master rank and the single-rank run: hand out tasks, keep the results, write the
   file at intervals, report progress, and stop cleanly on SIGTERM/SIGUSR1. */
#include <moerun.h>
#include <moeschedule.h>
#include <moedata.h>
#include <moerunmsg.h>
#include <unistd.h>

typedef struct {
  const MoeGrid       *grid;
  MoeResults          *R;
  MoeSchedule         *S;
  const MoeRunOptions *opts;
  const char          *command;
  PetscLogDouble       start, last_flush, last_whole, last_progress, whole_cost, append_cost;
  PetscInt64           done_at_start;
  PetscInt64          *fresh, nfresh; /* tasks finished since the last flush, for the journal */
  PetscBool            written;        /* this session has written the whole file */
  PetscInt             workers;
  /* time left: per task kind, the cost model's units still to run and the seconds per
     unit measured on this session's finished tasks */
  PetscReal cost_left[2], cost_seen[2], time_seen[2];
  /* -fit_group_yield: the expected cost after which a fit is handed to the largest group (0:
     never); per kind and group size, the expected cost and the seconds of this session's fits;
     the fits handed over and the seconds they had run */
  PetscReal yield_after, cost_on[2][MOE_DATA_CHUNKS + 1], time_on[2][MOE_DATA_CHUNKS + 1], yield_lost;
  PetscInt  group_max, nyielded;
} Master;

/* The time-left estimate's kind of a task: a reference fit (on noise-free data) or a fit of a replicate's data. */
static PetscInt CostKind(const MoeTask *t)
{
  return t->kind == MOE_TASK_REFERENCE ? 1 : 0;
}

/* Rewriting the whole file costs in proportion to the grid, appending to the journal in
   proportion to the new results: rewrite when that keeps rewriting within 0.5% of the time
   since the last rewrite (and at the end), append otherwise (appends get the other 0.5%). */
static PetscBool WholeWriteDue(Master *M, PetscBool final, PetscLogDouble now)
{
  if (!M->written) return PETSC_TRUE; /* a session starts with a whole write: it merges an earlier journal */
  if (final || M->opts->flush_interval == 0) return (PetscBool)(final || !M->opts->test_flush_append);
  return (PetscBool)(!M->opts->test_flush_append && now - M->last_whole >= 200 * M->whole_cost);
}

static PetscErrorCode Flush(Master *M, PetscBool final, PetscBool complete)
{
  PetscLogDouble t0 = MoeWallTime(), cost;

  PetscFunctionBegin;
  if (!final && M->written && !M->nfresh) PetscFunctionReturn(0); /* nothing new */
  if (WholeWriteDue(M, final, t0)) {
    M->R->sessions[M->R->nsessions - 1].end = final ? t0 : 0;
    PetscCall(MoeResultsWrite(M->R, M->opts->output, M->command, complete, M->start, M->opts->test_flush_delay));
    M->last_whole = MoeWallTime();
    cost          = M->last_whole - t0 - M->opts->test_flush_delay;
    M->whole_cost = cost;
    M->written    = PETSC_TRUE;
  } else {
    PetscCall(MoeJournalAppend(M->R, M->opts->output, M->fresh, M->nfresh));
    cost           = MoeWallTime() - t0;
    M->append_cost = cost;
  }
  M->nfresh    = 0;
  M->last_flush = MoeWallTime();
  M->R->sessions[M->R->nsessions - 1].io_time += cost; /* recorded at the next whole write */
  PetscFunctionReturn(0);
}

/* Flush at the interval, stretched so that appending takes at most 0.5% of the time; an
   interval of 0 rewrites the file after every result. */
static PetscErrorCode MaybeFlush(Master *M)
{
  PetscLogDouble now = MoeWallTime(), interval = M->opts->flush_interval;

  PetscFunctionBegin;
  if (interval > 0) interval = PetscMax(interval, 200 * M->append_cost);
  if (M->nfresh && now - M->last_flush >= interval) PetscCall(Flush(M, PETSC_FALSE, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static void FormatDuration(double s, char *buf, size_t len)
{
  if (!(s >= 0) || s > 1e8) snprintf(buf, len, "?");
  else if (s < 60) snprintf(buf, len, "%.0fs", s);
  else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
  else snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static PetscErrorCode Progress(Master *M, PetscBool force, PetscInt running)
{
  PetscLogDouble now = MoeWallTime(), el = now - M->start;
  PetscInt64     T = M->grid->ntasks, done = M->R->done, session = done - M->done_at_start;
  char           eta[32], elapsed[32];

  PetscFunctionBegin;
  if (M->opts->quiet || (!force && now - M->last_progress < M->opts->progress_interval)) PetscFunctionReturn(0);
  M->last_progress = now;
  {
    PetscReal left = 0;
    for (PetscInt k = 0; k < 2; k++) {
      if (M->cost_left[k] <= 0) continue;
      if (M->cost_seen[k] <= 0) {
        left = -1; /* no finished task of this kind yet: unknown */
        break;
      }
      left += M->cost_left[k] * M->time_seen[k] / M->cost_seen[k];
    }
    FormatDuration(left < 0 ? -1 : left / M->workers, eta, sizeof(eta));
  }
  FormatDuration(el, elapsed, sizeof(elapsed));
  fprintf(stderr, "moerate: %lld/%lld tasks done (%.1f%%), %.2f tasks/s, elapsed %s, left ~%s, %lld failed, %d running\n", (long long)done, (long long)T, 100.0 * done / PetscMax(T, 1), el > 0 ? session / el : 0.0, elapsed, eta, (long long)M->R->failed, (int)running);
  fflush(stderr);
  PetscFunctionReturn(0);
}

/* Keep a task's result; a reference result unblocks its pair. */
static PetscErrorCode Store(Master *M, const MoeRecord *rec, const PetscReal *losses, const PetscReal *theta)
{
  const MoeGrid *G = M->grid;
  MoeResults    *R = M->R;
  PetscInt       L = G->spec->nlosses;
  const MoeTask *t = &G->tasks[rec->id];

  PetscFunctionBegin;
  if (rec->status == MOE_FIT_PENDING) PetscFunctionReturn(0); /* abandoned */
  PetscCheck(R->records[rec->id].status == MOE_FIT_PENDING, PETSC_COMM_SELF, PETSC_ERR_PLIB, "task %lld completed twice", (long long)rec->id);
  R->records[rec->id] = *rec;
  PetscCall(PetscArraycpy(R->losses + rec->id * L, losses, L));
  PetscCall(PetscArraycpy(R->theta + rec->id * G->pmax, theta, G->pmax));
  R->done++;
  if (rec->status == MOE_FIT_FAILED) R->failed++;
  M->fresh[M->nfresh++] = rec->id;
  M->cost_left[CostKind(t)] -= t->cost;
  M->cost_seen[CostKind(t)] += t->cost;
  M->time_seen[CostKind(t)] += rec->wall_time;
  if (t->kind == MOE_TASK_REFERENCE) MoeScheduleUnblock(M->S, t->pair);
  if (t->kind == MOE_TASK_REFERENCE && !rec->certified && !M->opts->quiet) {
    const MoeSpec *s = G->spec;
    fprintf(stderr, "moerate: warning: G-bar of %s x %s is not identified (noise-free objective %.2e, sd along its weakest Fisher direction %.2g at n = %lld): losses against it measure nothing; `moerate fit` with this spec says why\n", s->gatings[t->gating], s->experts[t->expert], rec->objective, rec->weak_sd, (long long)s->ns[0]);
  }
  if (M->opts->verbose) {
    const MoeSpec *s = G->spec;
    fprintf(stderr, "moerate: task %lld %s x %s %s n=%lld rep %lld: %s (%s) %d its, objective %.6e, gap %.3g%s, %d starts, %.2fs on rank %d\n", (long long)rec->id, s->gatings[t->gating], s->experts[t->expert], t->kind == MOE_TASK_REFERENCE ? "reference" : t->kind == MOE_TASK_RESTART ? "restart" : "replicate", (long long)t->n, (long long)t->replicate, MoeFitStatuses[rec->status], MoeFitReasonString(rec->reason), (int)rec->iterations, rec->objective, rec->gap, rec->certified ? " (certified)" : "", (int)rec->starts_used, rec->wall_time, (int)rec->rank);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode MasterSetUp(Master *M, const MoeGrid *G, MoeResults *R, const MoeRunOptions *opts, const char command[], PetscMPIInt size)
{
  PetscInt64  i;
  MoeSession *s;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(M, sizeof(*M)));
  M->grid    = G;
  M->R       = R;
  M->opts    = opts;
  M->command = command;
  M->start = M->last_flush = M->last_whole = M->last_progress = MoeWallTime();
  M->done_at_start                                           = R->done;
  PetscCall(PetscMalloc1(PetscMax(1, G->ntasks - R->done), &M->fresh)); /* each task finishes once per session */
  M->workers                                  = PetscMax(1, opts->ngroups); /* a group of ranks fits as one worker */
  PetscCall(MoeScheduleCreate(G, R, &M->S));
  if (G->spec->fit_group == MOE_FIT_GROUP_AUTO && size > 1) { /* each task's wanted group size, as FormAutoGroups laid the groups out */
    PetscInt *sizes, ng;
    PetscCall(PetscMalloc1(size - 1, &sizes));
    PetscCall(MoeScheduleGroupLayout(M->S, size - 1, sizes, &ng));
    PetscCheck(ng == opts->ngroups && sizes[0] == opts->group_size[0], PETSC_COMM_SELF, PETSC_ERR_PLIB, "the group layout changed between two computations");
    M->group_max = sizes[0];
    if (sizes[0] > 1) M->yield_after = opts->yield * M->S->half; /* no group to hand a fit to otherwise */
    PetscCall(PetscFree(sizes));
  }
  for (i = 0; i < G->ntasks; i++)
    if (R->records[i].status == MOE_FIT_PENDING) M->cost_left[CostKind(&G->tasks[i])] += G->tasks[i].cost;
  PetscCall(PetscRealloc(sizeof(MoeSession) * (R->nsessions + 1), &R->sessions));
  s = &R->sessions[R->nsessions++];
  PetscCall(PetscMemzero(s, sizeof(*s)));
  s->start       = M->start;
  s->ranks       = size;
  s->exit_status = -1;
  gethostname(s->host, sizeof(s->host) - 1);
  PetscCall(Flush(M, PETSC_FALSE, PETSC_FALSE)); /* the file exists, with every task pending, from the start */
  PetscFunctionReturn(0);
}

static PetscErrorCode MasterFinish(Master *M, PetscBool stopped)
{
  PetscBool complete = (PetscBool)(M->R->done == M->grid->ntasks);
  char      el[32];

  PetscFunctionBegin;
  M->R->sessions[M->R->nsessions - 1].exit_status = stopped ? MOE_EXIT_STOPPED : MOE_EXIT_OK;
  /* a stop may be followed by SIGKILL before a large file's whole write ends: the new
     results are safe in the journal first */
  if (stopped && M->written && M->nfresh) PetscCall(MoeJournalAppend(M->R, M->opts->output, M->fresh, M->nfresh));
  PetscCall(Flush(M, PETSC_TRUE, complete));
  PetscCall(Progress(M, PETSC_TRUE, 0));
  FormatDuration(MoeWallTime() - M->start, el, sizeof(el));
  if (M->nyielded && !M->opts->quiet) fprintf(stderr, "moerate: %d fit(s) ran longer than -fit_group_yield allows and were handed to a group of %d (%.1f s of their time redone)\n", (int)M->nyielded, (int)M->group_max, (double)M->yield_lost);
  if (stopped) fprintf(stderr, "moerate: stopped after %s with %lld of %lld tasks done; rerun the same command to resume (exit status %d)\n", el, (long long)M->R->done, (long long)M->grid->ntasks, MOE_EXIT_STOPPED);
  else if (!M->opts->quiet) fprintf(stderr, "moerate: finished %lld tasks (%lld failed) in %s; results in %s\n", (long long)M->grid->ntasks, (long long)M->R->failed, el, M->opts->output);
  PetscCall(MoeScheduleDestroy(&M->S));
  PetscCall(PetscFree(M->fresh));
  MoeSetExitStatus(stopped ? MOE_EXIT_STOPPED : MOE_EXIT_OK);
  PetscFunctionReturn(0);
}

static PetscBool SerialInterrupt(void *ctx)
{
  return MoeStopRequested();
}

/* One rank does everything. */
PetscErrorCode MoeRunSerial(const MoeGrid *G, MoeResults *R, const MoeRunOptions *opts, const char command[])
{
  Master      M;
  MoeExecutor x;
  MoeRecord   rec;
  PetscReal  *losses, *theta;
  PetscInt64  id;
  PetscBool   stopped = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(MasterSetUp(&M, G, R, opts, command, 1));
  PetscCall(MoeExecutorCreate(G, &x));
  PetscCall(MoeExecutorSetOptions(x, opts));
  PetscCall(PetscMalloc2(G->spec->nlosses, &losses, G->pmax, &theta));
  for (PetscInt q = 0; q < G->npairs; q++) { /* G-bars computed by an earlier session */
    const MoePair *P = &G->pairs[q];
    if (P->reference && R->records[P->reference_id].status != MOE_FIT_PENDING) PetscCall(MoeExecutorSetReference(x, q, R->theta + P->reference_id * G->pmax));
  }
  PetscCall(MoeFitSetInterrupt(SerialInterrupt, NULL));
  while ((id = MoeScheduleNext(M.S)) >= 0) {
    if (MoeStopRequested()) {
      stopped = PETSC_TRUE;
      break;
    }
    PetscCall(MoeExecutorRun(x, id, 0, &rec, losses, theta));
    if (rec.status == MOE_FIT_PENDING) {
      stopped = PETSC_TRUE;
      break;
    }
    PetscCall(Store(&M, &rec, losses, theta));
    if (G->tasks[id].kind == MOE_TASK_REFERENCE) PetscCall(MoeExecutorSetReference(x, G->tasks[id].pair, theta));
    PetscCall(MaybeFlush(&M));
    PetscCall(Progress(&M, PETSC_FALSE, 1));
  }
  if (MoeStopRequested()) stopped = PETSC_TRUE;
  PetscCall(MoeFitSetInterrupt(NULL, NULL));
  PetscCall(PetscFree2(losses, theta));
  PetscCall(MoeExecutorDestroy(&x));
  PetscCall(MasterFinish(&M, stopped));
  PetscFunctionReturn(0);
}

typedef struct {
  PetscInt       size;        /* a group's first rank: the group's size; 0: another rank of a group */
  PetscInt       outstanding;
  PetscBool     *hasref;      /* per pair: G-bar sent */
  PetscInt64    *sent;        /* the outstanding tasks in the order sent (a worker runs them in that order) */
  PetscInt       first;       /* sent[first] is running */
  PetscLogDouble since;       /* when it started */
  PetscBool      yield_sent;  /* asked to hand it back */
} WorkerState;

/* A worker's tasks: the one running is the oldest outstanding. */
static void Sent(WorkerState *W, PetscInt depth, PetscInt64 id)
{
  if (!W->outstanding) W->since = MoeWallTime();
  W->sent[(W->first + W->outstanding) % depth] = id;
}

static void Returned(WorkerState *W, PetscInt depth)
{
  W->first      = (W->first + 1) % depth;
  W->since      = MoeWallTime();
  W->yield_sent = PETSC_FALSE;
}

/* -fit_group auto (-fit_group_yield): the rule gives a task the group that brings its expected cost
   within half the fair share, so on a group of g ranks it should end within the time g ranks take
   for that half (seconds per expected-cost unit measured on this session's fits on groups of g).  A
   fit that has lasted `yield` times longer, on a group smaller than the largest and than its
   sample's chunks, is asked back, for the largest group: heavy-tailed fit times (a maximum-likelihood fit 100 times its design's
   median) are what no cost model foresees.  The larger group gives the same numbers (a group's
   sums are the same for every size), so only the time spent is lost. */
static PetscErrorCode MaybeAskToYield(Master *M, WorkerState *W, PetscMPIInt w)
{
  const MoeTask *t;
  PetscInt       k;
  PetscReal      c, s;

  PetscFunctionBegin;
  if (W->size >= M->group_max || !W->outstanding || W->yield_sent || M->yield_after <= 0) PetscFunctionReturn(0);
  t = &M->grid->tasks[W->sent[W->first]];
  k = CostKind(t);
  c = M->cost_on[k][W->size];
  s = M->time_on[k][W->size];
  if (c <= 0 || M->S->want[t->id] == MOE_WANT_ALONE || MoeDataChunks(t->n) <= W->size) PetscFunctionReturn(0); /* more ranks than chunks would idle */
  if (MoeWallTime() - W->since <= M->yield_after * W->size * s / c) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Bsend(&t->id, 1, MPI_INT64_T, w, MOE_TAG_YIELD, PETSC_COMM_WORLD));
  W->yield_sent = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* A fit handed back: pending again, for the largest group. */
static PetscErrorCode Yielded(Master *M, WorkerState *W, const MoeRecord *rec)
{
  PetscLogDouble spent = MoeWallTime() - W->since;

  PetscFunctionBegin;
  Returned(W, M->opts->depth);
  PetscCall(MoeScheduleYield(M->S, rec->id, M->group_max));
  M->nyielded++;
  M->yield_lost += spent;
  if (M->opts->verbose) fprintf(stderr, "moerate: task %lld ran %.1fs on a group of %d (rank %d), longer than -fit_group_yield allows: handed to a group of %d\n", (long long)rec->id, (double)spent, (int)W->size, (int)rec->rank, (int)M->group_max);
  PetscFunctionReturn(0);
}

/* Send worker w tasks until it holds `depth` (a G-bar first when the task needs it). */
static PetscErrorCode Dispatch(Master *M, WorkerState *W, PetscMPIInt w, PetscInt depth, char *refbuf)
{
  const MoeGrid *G = M->grid;

  PetscFunctionBegin;
  while (W[w].outstanding < depth) {
    PetscInt64     id = MoeScheduleNextFor(M->S, W[w].size);
    const MoeTask *t;
    if (id < 0) break;
    t = &G->tasks[id];
    if (t->kind != MOE_TASK_REFERENCE && G->pairs[t->pair].reference && !W[w].hasref[t->pair]) {
      PetscInt64 pair = t->pair;
      memcpy(refbuf, &pair, sizeof(pair));
      memcpy(refbuf + sizeof(pair), M->R->theta + G->pairs[t->pair].reference_id * G->pmax, sizeof(PetscReal) * G->pmax);
      PetscCallMPI(MPI_Bsend(refbuf, (int)MoeRefMessageSize(G), MPI_BYTE, w, MOE_TAG_REF, PETSC_COMM_WORLD));
      W[w].hasref[t->pair] = PETSC_TRUE;
    }
    PetscCallMPI(MPI_Bsend(&id, 1, MPI_INT64_T, w, MOE_TAG_TASK, PETSC_COMM_WORLD));
    Sent(&W[w], M->opts->depth, id);
    W[w].outstanding++;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeRunMaster(const MoeGrid *G, MoeResults *R, const MoeRunOptions *opts, const char command[])
{
  Master       M;
  PetscMPIInt  size, w, src;
  WorkerState *W;
  char        *msg, *refbuf, *bsend;
  int          bsize;
  PetscInt     spins = 0, running;
  PetscBool    stopping = PETSC_FALSE;
  size_t       msize    = MoeResultMessageSize(G);
  PetscLogDouble stop_time = 0, yield_check = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(MasterSetUp(&M, G, R, opts, command, size));
  PetscCall(PetscCalloc1(size, &W));
  for (PetscInt j = 0, first = 1; j < opts->ngroups; first += opts->group_size[j++]) { /* the workers are the groups' first ranks */
    W[first].size = opts->group_size[j];
    PetscCall(PetscCalloc2(G->npairs, &W[first].hasref, opts->depth, &W[first].sent));
  }
  PetscCall(PetscMalloc2(msize, &msg, MoeRefMessageSize(G), &refbuf));
  /* buffered sends never wait for a worker busy in a fit: room for every message that can
     be in flight (depth tasks and as many yields, one G-bar per pair, a stop and an exit per worker) */
  bsize = (int)((size_t)size * ((2 * opts->depth + 2) * (sizeof(PetscInt64) + MPI_BSEND_OVERHEAD) + G->npairs * (MoeRefMessageSize(G) + MPI_BSEND_OVERHEAD)) + 4096);
  PetscCall(PetscMalloc1(bsize, &bsend));
  PetscCallMPI(MPI_Buffer_attach(bsend, bsize));

  for (PetscInt depth = 1; depth <= opts->depth; depth++) /* one task each first: the largest are spread out */
    for (w = 1; w < size; w++)
      if (W[w].size) PetscCall(Dispatch(&M, W, w, depth, refbuf));
  while (1) {
    int        flag;
    MPI_Status st;

    running = 0;
    for (w = 1; w < size; w++)
      if (W[w].size) running += W[w].outstanding;
    if (!stopping && MoeStopRequested()) {
      stopping  = PETSC_TRUE;
      stop_time = MoeWallTime();
      for (w = 1; w < size; w++)
        if (W[w].size) PetscCallMPI(MPI_Bsend(NULL, 0, MPI_BYTE, w, MOE_TAG_STOP, PETSC_COMM_WORLD));
    }
    if (!running) break; /* all handed-out work is back, and nothing more can start */
    if (stopping && MoeWallTime() - stop_time > opts->stop_grace) { /* a worker does not answer: leave without it */
      PetscCall(MasterFinish(&M, PETSC_TRUE));
      fprintf(stderr, "moerate: %d task(s) did not stop within -stop_grace %g s: the results file is written without them (they stay pending); ending the job\n", (int)running, (double)opts->stop_grace);
      fflush(stderr);
      MPI_Abort(PETSC_COMM_WORLD, MOE_EXIT_STOPPED);
    }
    PetscCallMPI(MPI_Iprobe(MPI_ANY_SOURCE, MOE_TAG_RESULT, PETSC_COMM_WORLD, &flag, &st));
    if (flag) {
      MoeRecord rec;
      src = st.MPI_SOURCE;
      PetscCallMPI(MPI_Recv(msg, (int)msize, MPI_BYTE, src, MOE_TAG_RESULT, PETSC_COMM_WORLD, MPI_STATUS_IGNORE));
      memcpy(&rec, msg, sizeof(rec));
      W[src].outstanding--;
      if (rec.status == MOE_FIT_PENDING && rec.reason == MOE_REASON_YIELDED && !stopping) {
        PetscCall(Yielded(&M, &W[src], &rec));
        for (w = 1; w < size; w++) /* a free group takes it, the rank alone its next task */
          if (W[w].size) PetscCall(Dispatch(&M, W, w, opts->depth, refbuf));
        continue;
      }
      if (rec.status != MOE_FIT_PENDING && W[src].size <= MOE_DATA_CHUNKS) { /* seconds per cost unit on such a group */
        M.cost_on[CostKind(&G->tasks[rec.id])][W[src].size] += G->tasks[rec.id].cost;
        M.time_on[CostKind(&G->tasks[rec.id])][W[src].size] += rec.wall_time;
      }
      Returned(&W[src], opts->depth);
      if (rec.status == MOE_FIT_PENDING && !stopping) { /* a worker was signalled: stop everyone */
        MoeRequestStop();
        continue;
      }
      PetscCall(Store(&M, &rec, (PetscReal *)(msg + sizeof(rec)), (PetscReal *)(msg + sizeof(rec)) + G->spec->nlosses));
      if (!stopping) {
        if (rec.kind == MOE_TASK_REFERENCE) { /* its pair's tasks can start: fill every worker */
          for (w = 1; w < size; w++)
            if (W[w].size) PetscCall(Dispatch(&M, W, w, opts->depth, refbuf));
        } else PetscCall(Dispatch(&M, W, src, opts->depth, refbuf));
      }
      spins = 0;
    } else if (++spins > 64) usleep(spins > 1000 ? 2000 : 50); /* idle: do not burn a core */
    if (!stopping && M.yield_after > 0 && MoeWallTime() - yield_check > 0.1) {
      yield_check = MoeWallTime();
      for (w = 1; w < size; w++) PetscCall(MaybeAskToYield(&M, &W[w], w));
    }
    PetscCall(MaybeFlush(&M));
    PetscCall(Progress(&M, PETSC_FALSE, running));
  }
  for (w = 1; w < size; w++)
    if (W[w].size) PetscCallMPI(MPI_Bsend(NULL, 0, MPI_BYTE, w, MOE_TAG_EXIT, PETSC_COMM_WORLD));
  PetscCall(MasterFinish(&M, (PetscBool)(stopping || MoeStopRequested())));
  PetscCallMPI(MPI_Buffer_detach(&bsend, &bsize));
  PetscCall(PetscFree(bsend));
  for (w = 1; w < size; w++)
    if (W[w].size) PetscCall(PetscFree2(W[w].hasref, W[w].sent));
  PetscCall(PetscFree(W));
  PetscCall(PetscFree2(msg, refbuf));
  PetscFunctionReturn(0);
}
