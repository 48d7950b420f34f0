/* One task of the grid on this rank: its pipeline is the task room's (moetask.h); truths,
   evaluation samples and models are built once per expert family or pair and kept. */
#include <moerun.h>
#include <moetask.h>
#include <unistd.h>

struct _p_MoeExecutor {
  const MoeGrid *grid;
  MoeTruth     **truth;     /* per expert */
  MoeData      **eval;      /* per expert */
  MoeModel      *model;     /* per pair */
  PetscReal    **reference; /* per pair, once known */
  PetscInt64     inject_nan_task, inject_error_task, hang_task;
  PetscBool      skip_fit;
  MPI_Comm       group;      /* the ranks running each task together, MPI_COMM_NULL: this one */
  PetscReal      task_delay; /* testing: seconds every task waits before it starts */
};

PetscErrorCode MoeExecutorCreate(const MoeGrid *G, MoeExecutor *ex)
{
  MoeExecutor x;

  PetscFunctionBegin;
  PetscCall(PetscNew(&x));
  x->grid            = G;
  x->inject_nan_task   = -1;
  x->inject_error_task = -1;
  x->hang_task         = -1;
  x->group             = MPI_COMM_NULL;
  PetscCall(PetscCalloc2(G->spec->nexperts, &x->truth, G->spec->nexperts, &x->eval));
  PetscCall(PetscCalloc2(G->npairs, &x->model, G->npairs, &x->reference));
  *ex = x;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExecutorSetOptions(MoeExecutor x, const MoeRunOptions *o)
{
  PetscFunctionBegin;
  x->task_delay        = o->test_task_delay;
  x->inject_nan_task   = o->inject_nan_task;
  x->inject_error_task = o->inject_error_task;
  x->hang_task         = o->test_hang_task;
  x->skip_fit          = o->skip_fit;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExecutorDestroy(MoeExecutor *ex)
{
  MoeExecutor x = *ex;
  PetscInt    i;

  PetscFunctionBegin;
  if (!x) PetscFunctionReturn(0);
  for (i = 0; i < x->grid->spec->nexperts; i++) {
    PetscCall(MoeTruthDestroy(&x->truth[i]));
    PetscCall(MoeDataDestroy(&x->eval[i]));
  }
  for (i = 0; i < x->grid->npairs; i++) {
    PetscCall(MoeModelDestroy(&x->model[i]));
    PetscCall(PetscFree(x->reference[i]));
  }
  PetscCall(PetscFree2(x->truth, x->eval));
  PetscCall(PetscFree2(x->model, x->reference));
  PetscCall(PetscFree(x));
  *ex = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeExecutorSetReference(MoeExecutor x, PetscInt pair, const PetscReal *theta)
{
  PetscInt p = x->grid->pairs[pair].p;

  PetscFunctionBegin;
  if (!x->reference[pair]) PetscCall(PetscMalloc1(p, &x->reference[pair]));
  PetscCall(PetscArraycpy(x->reference[pair], theta, p));
  PetscFunctionReturn(0);
}

const PetscReal *MoeExecutorGetReference(MoeExecutor x, PetscInt pair)
{
  return x->reference[pair];
}

PetscErrorCode MoeExecutorSetGroup(MoeExecutor x, MPI_Comm group)
{
  PetscFunctionBegin;
  x->group = group;
  PetscFunctionReturn(0);
}

/* Testing (-test_task_delay): wait until the task has lasted `delay` seconds; PETSC_TRUE when a
   stop came first.  A group's ranks leave the wait together (the first that is done, or asked to
   stop, decides): each round takes one agreement from all of them. */
static PetscErrorCode DelayTask(MoeExecutor x, PetscLogDouble t_start, PetscBool *stopped)
{
  PetscFunctionBegin;
  *stopped = PETSC_FALSE;
  while (1) {
    int state[2] = {MoeWallTime() - t_start >= x->task_delay, 0}, all[2];
    state[1] = MoeFitInterrupted(); /* agreed already within a group (the worker's check) */
    if (x->group != MPI_COMM_NULL) PetscCallMPI(MPI_Allreduce(state, all, 2, MPI_INT, MPI_MAX, x->group));
    else PetscCall(PetscArraycpy(all, state, 2));
    if (all[1]) *stopped = PETSC_TRUE;
    if (all[0] || all[1]) break;
    usleep(10000);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode Prepare(MoeExecutor x, const MoeTask *t)
{
  const MoeSpec *s = x->grid->spec;

  PetscFunctionBegin;
  if (!x->truth[t->expert]) {
    MoeDataParams dp;
    MoeSpecDataParams(s, &dp);
    PetscCall(MoeTruthCreate(s, t->expert, &x->truth[t->expert]));
    PetscCall(MoeDataEvaluationSample(&dp, x->truth[t->expert], &x->eval[t->expert]));
  }
  if (!x->model[t->pair]) PetscCall(MoeModelCreate(s->gatings[t->gating], s->experts[t->expert], s->k, s->d, s->opts, NULL, &x->model[t->pair]));
  PetscFunctionReturn(0);
}

/* Run task id; rec, losses (nlosses) and theta (pmax) receive its results. */
PetscErrorCode MoeExecutorRun(MoeExecutor x, PetscInt64 id, PetscMPIInt rank, MoeRecord *rec, PetscReal *losses, PetscReal *theta)
{
  const MoeGrid *G = x->grid;
  const MoeSpec *s = G->spec;
  const MoeTask *t = &G->tasks[id];
  MoePairContext pc;
  PetscInt       j;

  PetscFunctionBegin;
  MoeRecordInit(G, id, rec);
  rec->rank    = rank;
  rec->t_start = MoeWallTime();
  if (x->task_delay > 0) { /* testing: a task of known length */
    PetscBool stopped;
    PetscCall(DelayTask(x, rec->t_start, &stopped));
    if (stopped) PetscFunctionReturn(0); /* abandoned: the record stays pending */
  }
  while (id == x->hang_task && MoeWallTime() - rec->t_start < 300) sleep(1); /* testing: a worker deaf to stop requests */
  for (j = 0; j < s->nlosses; j++) losses[j] = MOE_NAN;
  for (j = 0; j < G->pmax; j++) theta[j] = MOE_NAN;
  if (x->skip_fit) { /* the scheduler benchmark: no data, no fit */
    rec->status    = MOE_FIT_SKIPPED;
    rec->objective = rec->gradient_norm = MOE_NAN;
    rec->t_end     = MoeWallTime();
    rec->wall_time = rec->t_end - rec->t_start;
    PetscFunctionReturn(0);
  }
  PetscCheck(id != x->inject_error_task, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate the work space of task %lld (injected by -inject_error_task)", (long long)id);
  PetscCall(Prepare(x, t));
  pc = (MoePairContext){s, t->gating, t->expert, t->estimator, x->model[t->pair], x->truth[t->expert], x->reference[t->pair], x->eval[t->expert]};
  if (t->kind == MOE_TASK_REFERENCE) {
    MoeReferenceResult ref;
    ref.theta = theta;
    PetscCall(MoeTaskReference(&pc, &ref));
    MoeRecordSetFit(rec, &ref.fit, NULL);
    if (ref.fit.status != MOE_FIT_PENDING) {
      rec->certified = ref.identified;
      rec->weak_sd   = ref.weak_sd >= PETSC_INFINITY ? (double)INFINITY : ref.weak_sd;
    }
  } else {
    MoeReplicateResult rep;
    PetscCall(PetscMalloc1(pc.model->p, &rep.theta0));
    rep.theta  = theta;
    rep.losses = losses;
    PetscCall(MoeTaskReplicate(&pc, t->n, t->replicate, t->restart, (PetscBool)(id == x->inject_nan_task), PETSC_FALSE, &rep));
    PetscCall(PetscFree(rep.theta0));
    MoeRecordSetFit(rec, &rep.fit, &rep.cert);
    rec->truth_shift = rep.truth_shift;
  }
  rec->t_end         = MoeWallTime();
  rec->wall_time     = rec->t_end - rec->t_start;
  PetscFunctionReturn(0);
}
