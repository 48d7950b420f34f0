/* A worker rank: receive task ids, fit them on PETSC_COMM_SELF (or with the other ranks of its
   group, -fit_group), send back records. */
#include <moerun.h>
#include <moerunmsg.h>
#include <time.h>

/* What the interrupt check needs: the group's communicator (NULL: a rank alone), and on the rank
   that talks to the master the task it runs (else -1) and whether the master asked for it back
   (MOE_TAG_YIELD). */
typedef struct {
  MPI_Comm  *group;
  PetscInt64 running;
  PetscBool  yielded;
} WorkerCheck;

/* A yield for the running task (one for a task already done is dropped).  Sticky: the fit's later
   checks see it too. */
static PetscBool YieldAsked(WorkerCheck *c)
{
  int        flag = 0;
  PetscInt64 id;

  while (c->running >= 0 && !c->yielded && !MPI_Iprobe(0, MOE_TAG_YIELD, PETSC_COMM_WORLD, &flag, MPI_STATUS_IGNORE) && flag) {
    if (MPI_Recv(&id, 1, MPI_INT64_T, 0, MOE_TAG_YIELD, PETSC_COMM_WORLD, MPI_STATUS_IGNORE)) break;
    if (id == c->running) c->yielded = PETSC_TRUE;
  }
  return c->yielded;
}

/* Checked at every TAO iteration: a stop from the master, or a signal to this rank, or a yield.  The
   ranks of a group agree: they reach this check at the same iterations of the same fit, and stop
   together when any of them was asked to (the master asks the group's first rank; a signal may
   reach its ranks at different moments). */
static PetscBool WorkerInterrupt(void *ctx)
{
  WorkerCheck *c    = (WorkerCheck *)ctx;
  int          flag = 0, any;
  if (MoeStopRequested()) flag = 1;
  else MPI_Iprobe(0, MOE_TAG_STOP, PETSC_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
  if (!flag && YieldAsked(c)) flag = 1;
  if (!c->group) return flag ? PETSC_TRUE : PETSC_FALSE;
  if (MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, *c->group)) return PETSC_TRUE;
  return any ? PETSC_TRUE : PETSC_FALSE;
}

/* A group's task as its first rank hands it to the others: the task id (-1: leave) and, when the
   task's pair has one, its G-bar (the pair's p values, in room for pmax). */
typedef struct {
  PetscInt64 id, hasref;
} GroupTask;

static size_t GroupTaskSize(const MoeGrid *G)
{
  return sizeof(GroupTask) + sizeof(PetscReal) * G->pmax;
}

/* Poll test(ctx, &done) until done without holding a core: a while at full speed (the next message is
   usually microseconds away), then between sleeps that double up to 5 ms (see WaitForMessage). */
static PetscErrorCode PollIdle(PetscErrorCode (*test)(void *, int *), void *ctx)
{
  int             done = 0;
  struct timespec nap  = {0, 1000};

  PetscFunctionBegin;
  for (PetscInt spins = 0;; spins++) {
    PetscCall(test(ctx, &done));
    if (done) break;
    if (spins < 2000) continue;
    nanosleep(&nap, NULL);
    nap.tv_nsec = PetscMin(2 * nap.tv_nsec, 5000000L);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TestRequest(void *req, int *done)
{
  PetscFunctionBegin;
  PetscCallMPI(MPI_Test((MPI_Request *)req, done, MPI_STATUS_IGNORE));
  PetscFunctionReturn(0);
}

/* Wait for the group's next task (a non-blocking broadcast, polled: an idle rank holds no core). */
static PetscErrorCode ReceiveGroupTask(const MoeGrid *G, MPI_Comm group, char *buf)
{
  MPI_Request req;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Ibcast(buf, (int)GroupTaskSize(G), MPI_BYTE, 0, group, &req));
  PetscCall(PollIdle(TestRequest, &req));
  PetscFunctionReturn(0);
}

static PetscErrorCode SendGroupTask(const MoeGrid *G, MPI_Comm group, PetscInt64 id, const PetscReal *ref, char *buf)
{
  GroupTask t = {id, ref ? 1 : 0};

  PetscFunctionBegin;
  memcpy(buf, &t, sizeof(t));
  if (ref) memcpy(buf + sizeof(t), ref, sizeof(PetscReal) * G->pairs[G->tasks[id].pair].p); /* a pair's G-bar has its own p entries */
  PetscCall(ReceiveGroupTask(G, group, buf)); /* the root's side of the same broadcast */
  PetscFunctionReturn(0);
}

/* A rank of a group other than its first: run each task the first rank runs, in step with it (the
   sample's sums are the group's), and leave the result to it. */
static PetscErrorCode RunGroupMember(const MoeGrid *G, const MoeRunOptions *opts, MPI_Comm group)
{
  MoeExecutor x;
  PetscMPIInt rank;
  char       *buf, *msg;
  MoeRecord   rec;
  WorkerCheck check = {&group, -1, PETSC_FALSE};

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(MoeExecutorCreate(G, &x));
  PetscCall(MoeExecutorSetOptions(x, opts));
  PetscCall(MoeExecutorSetGroup(x, group));
  PetscCall(PetscMalloc2(GroupTaskSize(G), &buf, MoeResultMessageSize(G), &msg));
  PetscCall(MoeFitSetInterrupt(WorkerInterrupt, &check));
  while (1) {
    GroupTask t;
    PetscCall(ReceiveGroupTask(G, group, buf));
    memcpy(&t, buf, sizeof(t));
    if (t.id < 0) break;
    if (t.hasref) PetscCall(MoeExecutorSetReference(x, G->tasks[t.id].pair, (PetscReal *)(buf + sizeof(t))));
    PetscCall(MoeExecutorRun(x, t.id, rank, &rec, (PetscReal *)(msg + sizeof(rec)), (PetscReal *)(msg + sizeof(rec)) + G->spec->nlosses));
  }
  PetscCall(MoeFitSetInterrupt(NULL, NULL));
  PetscCall(PetscFree2(buf, msg));
  PetscCall(MoeExecutorDestroy(&x));
  PetscFunctionReturn(0);
}

/* Wait for the master's next message without holding a core: Open MPI's blocking probe spins,
   which on a shared node takes a core from other jobs for as long as a worker is idle (the end
   of a run, a pair waiting for its G-bar).  Probe without blocking, a while at full speed (a
   busy run's next task is microseconds away), then between sleeps that double up to 5 ms: an
   idle worker then uses well under 1% of a core (each probe drives Open MPI's progress engine,
   some 20 us: sleeps of 1 ms still cost 2.5%), and a task that arrives waits at most 5 ms. */
static PetscErrorCode ProbeMaster(void *st, int *done)
{
  PetscFunctionBegin;
  PetscCallMPI(MPI_Iprobe(0, MPI_ANY_TAG, PETSC_COMM_WORLD, done, (MPI_Status *)st));
  PetscFunctionReturn(0);
}

static PetscErrorCode WaitForMessage(MPI_Status *st)
{
  PetscFunctionBegin;
  PetscCall(PollIdle(ProbeMaster, st));
  PetscFunctionReturn(0);
}

/* An abandoned task goes back as a pending record. */
static PetscErrorCode SendAbandoned(const MoeGrid *G, PetscInt64 id, char *msg)
{
  MoeRecord rec;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(msg, MoeResultMessageSize(G)));
  PetscCall(PetscMemzero(&rec, sizeof(rec)));
  rec.id     = id;
  rec.status = MOE_FIT_PENDING;
  memcpy(msg, &rec, sizeof(rec));
  PetscCallMPI(MPI_Send(msg, (int)MoeResultMessageSize(G), MPI_BYTE, 0, MOE_TAG_RESULT, PETSC_COMM_WORLD));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeRunWorker(const MoeGrid *G, const MoeRunOptions *opts)
{
  MoeExecutor x;
  PetscMPIInt rank, grank = 0, gsize = 1;
  MPI_Comm    group = G->spec->group;
  char       *gbuf  = NULL;
  PetscInt64 *queue;
  PetscInt    head = 0, count = 0, cap = opts->depth + 1;
  PetscBool   stopping = PETSC_FALSE, leaving = PETSC_FALSE;
  size_t      msize    = MoeResultMessageSize(G);
  char       *msg, *in;
  MoeRecord   rec;
  WorkerCheck check = {NULL, -1, PETSC_FALSE};

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (group != MPI_COMM_NULL) {
    PetscCallMPI(MPI_Comm_rank(group, &grank));
    PetscCallMPI(MPI_Comm_size(group, &gsize));
  }
  if (grank > 0) {
    PetscCall(RunGroupMember(G, opts, group));
    PetscFunctionReturn(0);
  }
  PetscCall(MoeExecutorCreate(G, &x));
  PetscCall(MoeExecutorSetOptions(x, opts));
  PetscCall(MoeExecutorSetGroup(x, group));
  PetscCall(PetscMalloc3(cap, &queue, msize, &msg, MoeRefMessageSize(G), &in));
  PetscCall(PetscMalloc1(GroupTaskSize(G), &gbuf));
  if (gsize > 1) check.group = &group;
  PetscCall(MoeFitSetInterrupt(WorkerInterrupt, &check));
  while (!leaving) {
    int        flag;
    MPI_Status st;
    /* take every message waiting; wait for one when there is nothing to do */
    if (count == 0) {
      PetscCall(WaitForMessage(&st));
      flag = 1;
    } else PetscCallMPI(MPI_Iprobe(0, MPI_ANY_TAG, PETSC_COMM_WORLD, &flag, &st));
    while (flag) {
      int len;
      PetscCallMPI(MPI_Get_count(&st, MPI_BYTE, &len));
      PetscCallMPI(MPI_Recv(in, len, MPI_BYTE, 0, st.MPI_TAG, PETSC_COMM_WORLD, MPI_STATUS_IGNORE));
      switch (st.MPI_TAG) {
      case MOE_TAG_TASK:
        PetscCheck(count < cap, PETSC_COMM_SELF, PETSC_ERR_PLIB, "worker queue overflow");
        memcpy(&queue[(head + count++) % cap], in, sizeof(PetscInt64));
        break;
      case MOE_TAG_REF: {
        PetscInt64 pair;
        memcpy(&pair, in, sizeof(pair));
        PetscCall(MoeExecutorSetReference(x, (PetscInt)pair, (PetscReal *)(in + sizeof(pair))));
      } break;
      case MOE_TAG_STOP:
        stopping = PETSC_TRUE;
        break;
      case MOE_TAG_EXIT:
        leaving = PETSC_TRUE;
        break;
      case MOE_TAG_YIELD: /* for a task done before it came */
        break;
      }
      PetscCallMPI(MPI_Iprobe(0, MPI_ANY_TAG, PETSC_COMM_WORLD, &flag, &st));
    }
    if (stopping || MoeStopRequested()) { /* hand the queued tasks back */
      for (; count > 0; count--, head = (head + 1) % cap) PetscCall(SendAbandoned(G, queue[head], msg));
      continue;
    }
    if (count > 0) {
      PetscInt64 id = queue[head];
      head          = (head + 1) % cap;
      count--;
      if (gsize > 1) PetscCall(SendGroupTask(G, group, id, MoeExecutorGetReference(x, G->tasks[id].pair), gbuf));
      check.running = id;
      check.yielded = PETSC_FALSE;
      PetscCall(MoeExecutorRun(x, id, rank, &rec, (PetscReal *)(msg + sizeof(rec)), (PetscReal *)(msg + sizeof(rec)) + G->spec->nlosses));
      if (rec.status == MOE_FIT_PENDING) {
        rec.id = id;
        if (check.yielded && !MoeStopRequested()) rec.reason = MOE_REASON_YIELDED; /* a signal to this rank wins: the master stops the run */
      }
      check.running = -1;
      memcpy(msg, &rec, sizeof(rec));
      PetscCallMPI(MPI_Send(msg, (int)msize, MPI_BYTE, 0, MOE_TAG_RESULT, PETSC_COMM_WORLD));
    }
  }
  if (gsize > 1) PetscCall(SendGroupTask(G, group, -1, NULL, gbuf)); /* the group leaves with its first rank */
  PetscCall(MoeFitSetInterrupt(NULL, NULL));
  PetscCall(PetscFree(gbuf));
  PetscCall(PetscFree3(queue, msg, in));
  PetscCall(MoeExecutorDestroy(&x));
  PetscFunctionReturn(0);
}
