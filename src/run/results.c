/* The results of a run: in memory on the master, and the HDF5 file (layout: docs/FORMAT.md).
   The file is always written whole, to a temporary name, and renamed into place. */
#define _GNU_SOURCE /* renameat2: a backup never replaces an earlier one */
#include <moerun.h>
#include <moestore.h>
#include <moeloss.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <dirent.h>
#include <libgen.h>
#include <errno.h>
#include <stdio.h>
#include <sys/file.h>

#define MOE_FORMAT_VERSION 2 /* 2: certificates in the records, checksummed datasets */

PetscErrorCode MoeResultsBackup(const char[], const char[]);

static const char *record_doc =
  "one record per task, row i = task id i. kind: 0 replicate, 1 reference fit G-bar; gating, expert: indices into "
  "/grid/gatings, /grid/experts; n: sample size; replicate: index; seed: seed of the data stream (SplitMix64 of "
  "seed, stream, n, replicate); status: 0 pending, 1 converged, 2 failed, 3 skipped; reason: TaoConvergedReason "
  "(8 = CONVERGED_FTOL, moerate's objective-decrease test) or -100 (PETSc error in the solve, e.g. Inf/NaN); "
  "iterations: TAO iterations; start: the start kept (multi-start); rank: MPI rank that ran it; p: parameters "
  "(full layout); certified: replicate: 1 when gap <= -certify_tol, reference: 1 when G-bar is identified; "
  "starts_used: starts the fit took; objective: (1/2n) sum (Y - f(X))^2; gradient_norm: norm of its gradient; "
  "ref_objective: objective of the reference point (truth embedded in k atoms, or G-bar) on the same data; gap: "
  "2n/noise (objective - ref_objective); gradient_z: max_j |g_j| / sqrt(noise H_jj / n) at the end of the kept fit; weak_sd: "
  "reference: sd along G-bar's weakest Fisher direction at the smallest n; wall_time: seconds; "
  "t_start, t_end: UNIX time in seconds";

PetscErrorCode MoeResultsCreate(const MoeGrid *G, MoeResults **results)
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
    PetscCall(MoeTruthCreate(G->spec, G->spec->experts[i], &R->truths[i]));
    PetscCall(MoeTruthScreen(G->spec, R->truths[i]));
  }
  *results = R;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsDestroy(MoeResults **R)
{
  PetscFunctionBegin;
  if (!*R) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < (*R)->grid->spec->nexperts; i++) PetscCall(MoeTruthDestroy(&(*R)->truths[i]));
  PetscCall(PetscFree((*R)->truths));
  PetscCall(PetscFree((*R)->records));
  PetscCall(PetscFree2((*R)->losses, (*R)->theta));
  PetscCall(PetscFree((*R)->sessions));
  PetscCall(PetscFree(*R));
  PetscFunctionReturn(0);
}

static hid_t RecordType(void)
{
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(MoeRecord));
  H5Tinsert(t, "id", HOFFSET(MoeRecord, id), H5T_NATIVE_INT64);
  H5Tinsert(t, "kind", HOFFSET(MoeRecord, kind), H5T_NATIVE_INT32);
  H5Tinsert(t, "gating", HOFFSET(MoeRecord, gating), H5T_NATIVE_INT32);
  H5Tinsert(t, "expert", HOFFSET(MoeRecord, expert), H5T_NATIVE_INT32);
  H5Tinsert(t, "n", HOFFSET(MoeRecord, n), H5T_NATIVE_INT64);
  H5Tinsert(t, "replicate", HOFFSET(MoeRecord, replicate), H5T_NATIVE_INT64);
  H5Tinsert(t, "seed", HOFFSET(MoeRecord, seed), H5T_NATIVE_UINT64);
  H5Tinsert(t, "status", HOFFSET(MoeRecord, status), H5T_NATIVE_INT32);
  H5Tinsert(t, "reason", HOFFSET(MoeRecord, reason), H5T_NATIVE_INT32);
  H5Tinsert(t, "iterations", HOFFSET(MoeRecord, iterations), H5T_NATIVE_INT32);
  H5Tinsert(t, "start", HOFFSET(MoeRecord, start), H5T_NATIVE_INT32);
  H5Tinsert(t, "rank", HOFFSET(MoeRecord, rank), H5T_NATIVE_INT32);
  H5Tinsert(t, "p", HOFFSET(MoeRecord, p), H5T_NATIVE_INT32);
  H5Tinsert(t, "certified", HOFFSET(MoeRecord, certified), H5T_NATIVE_INT32);
  H5Tinsert(t, "starts_used", HOFFSET(MoeRecord, starts_used), H5T_NATIVE_INT32);
  H5Tinsert(t, "objective", HOFFSET(MoeRecord, objective), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "gradient_norm", HOFFSET(MoeRecord, gradient_norm), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "ref_objective", HOFFSET(MoeRecord, ref_objective), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "gap", HOFFSET(MoeRecord, gap), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "gradient_z", HOFFSET(MoeRecord, gradient_z), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "weak_sd", HOFFSET(MoeRecord, weak_sd), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "wall_time", HOFFSET(MoeRecord, wall_time), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "t_start", HOFFSET(MoeRecord, t_start), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "t_end", HOFFSET(MoeRecord, t_end), H5T_NATIVE_DOUBLE);
  return t;
}

static hid_t SessionType(void)
{
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(MoeSession)), s = H5Tcopy(H5T_C_S1);
  H5Tset_size(s, sizeof(((MoeSession *)0)->host));
  H5Tinsert(t, "start", HOFFSET(MoeSession, start), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "end", HOFFSET(MoeSession, end), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "io_time", HOFFSET(MoeSession, io_time), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "ranks", HOFFSET(MoeSession, ranks), H5T_NATIVE_INT32);
  H5Tinsert(t, "exit_status", HOFFSET(MoeSession, exit_status), H5T_NATIVE_INT32);
  H5Tinsert(t, "host", HOFFSET(MoeSession, host), s);
  H5Tclose(s);
  return t;
}

static PetscErrorCode WriteStrings(hid_t loc, const char name[], PetscInt n, const char *const *strs, const char meaning[])
{
  hid_t   type = H5Tcopy(H5T_C_S1), space, dset;
  hsize_t dims[1] = {(hsize_t)n};

  PetscFunctionBegin;
  MoeH5Call(H5Tset_size(type, H5T_VARIABLE));
  MoeH5Call(H5Tset_cset(type, H5T_CSET_UTF8));
  space = H5Screate_simple(1, dims, NULL);
  dset  = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create %s", name);
  MoeH5Call(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, strs));
  PetscCall(MoeH5AttrWriteString(dset, "meaning", meaning));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Sclose(space));
  MoeH5Call(H5Tclose(type));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteGrid(hid_t file, const MoeGrid *G)
{
  const MoeSpec *s = G->spec;
  const char    *names[MOE_MAX_LIST], *meanings[MOE_MAX_LIST];
  hid_t          g;
  PetscInt       i;
  hsize_t        dims[1] = {(hsize_t)s->nn};
  int64_t        ns[MOE_MAX_LIST];
  hid_t          space, dset;

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "grid", &g));
  for (i = 0; i < s->ngatings; i++) names[i] = s->gatings[i];
  PetscCall(WriteStrings(g, "gatings", s->ngatings, names, "fitted gating families; records' gating field indexes this list"));
  for (i = 0; i < s->nexperts; i++) names[i] = s->experts[i];
  PetscCall(WriteStrings(g, "experts", s->nexperts, names, "fitted expert families; records' expert field indexes this list"));
  for (i = 0; i < s->nlosses; i++) {
    const MoeLossType *t;
    PetscCall(MoeLossGet(s->losses[i], &t));
    names[i]    = s->losses[i];
    meanings[i] = t->meaning;
  }
  PetscCall(WriteStrings(g, "losses", s->nlosses, names, "loss names; columns of /tasks/losses"));
  PetscCall(WriteStrings(g, "loss_meanings", s->nlosses, meanings, "what each loss is"));
  for (i = 0; i < s->nn; i++) ns[i] = s->ns[i];
  space = H5Screate_simple(1, dims, NULL);
  dset  = H5Dcreate2(g, "n", H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  MoeH5Call(H5Dwrite(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ns));
  PetscCall(MoeH5AttrWriteString(dset, "meaning", "sample sizes"));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Sclose(space));
  PetscCall(MoeH5AttrWriteInt(g, "replicates", s->replicates));
  PetscCall(MoeH5AttrWriteInt(g, "k", s->k));
  PetscCall(MoeH5AttrWriteInt(g, "kstar", s->kstar));
  PetscCall(MoeH5AttrWriteInt(g, "d", s->d));
  PetscCall(MoeH5AttrWriteReal(g, "noise", s->noise));
  PetscCall(MoeH5AttrWriteString(g, "truth_gating", s->truth_gating));
  PetscCall(MoeH5AttrWriteString(g, "truth_expert", s->truth_expert[0] ? s->truth_expert : "same"));
  PetscCall(MoeH5AttrWriteInt(g, "truth_regime", s->truth_regime));
  PetscCall(MoeH5AttrWriteInt(g, "seed", s->seed));
  PetscCall(MoeH5AttrWriteInt(g, "reference_n", s->reference_n));
  PetscCall(MoeH5AttrWriteInt(g, "eval_n", s->eval_n));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* /models/<gating>__<expert>: layout of each pair's rows of /tasks/theta. */
static PetscErrorCode WriteModels(hid_t file, const MoeGrid *G)
{
  const MoeSpec *s = G->spec;
  hid_t          top, g;
  PetscInt       q, i;

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "models", &top));
  for (q = 0; q < G->npairs; q++) {
    const MoePair *P = &G->pairs[q];
    MoeModel       m;
    char           name[2 * MOE_NAME_LEN + 2];
    PetscReal     *pinned;
    hsize_t        dims[1];
    PetscCall(MoeModelCreate(s->gatings[P->gating], s->experts[P->expert], s->k, s->d, s->opts, NULL, &m));
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s__%s", s->gatings[P->gating], s->experts[P->expert]));
    PetscCall(MoeH5CreateGroup(top, name, &g));
    PetscCall(MoeStoreWriteModelAttributes(g, m));
    PetscCall(MoeH5AttrWriteInt(g, "k", m->k));
    PetscCall(MoeH5AttrWriteInt(g, "reference_task", P->reference_id));
    PetscCall(PetscMalloc1(m->p, &pinned));
    for (i = 0; i < m->p; i++) pinned[i] = m->pinned[i] ? 1 : 0;
    dims[0] = (hsize_t)m->p;
    PetscCall(MoeH5WriteReals(g, "pinned", 1, dims, pinned, "1", "1 where the parameter is pinned (not fitted)"));
    PetscCall(PetscFree(pinned));
    MoeH5Call(H5Gclose(g));
    PetscCall(MoeModelDestroy(&m));
  }
  MoeH5Call(H5Gclose(top));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteTasks(hid_t file, const MoeResults *R)
{
  const MoeGrid *G = R->grid;
  hid_t          g, type, dset;
  hsize_t        dims[2] = {(hsize_t)G->ntasks, 0};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "tasks", &g));
  type = RecordType();
  PetscCall(MoeH5CreateChecksummed(g, "records", type, 1, dims, &dset));
  MoeH5Call(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->records));
  PetscCall(MoeH5AttrWriteString(dset, "meaning", record_doc));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Tclose(type));
  dims[1] = (hsize_t)G->spec->nlosses;
  PetscCall(MoeH5WriteReals(g, "losses", 2, dims, R->losses, "loss units (see /grid/loss_meanings)", "losses of each task, columns as /grid/losses; NaN: not applicable or not done"));
  dims[1] = (hsize_t)G->pmax;
  PetscCall(MoeH5WriteReals(g, "theta", 2, dims, R->theta, "parameter units", "fitted parameters of each task in its model's layout (/models/<gating>__<expert>), first p entries; NaN beyond p and for tasks not done"));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteSessions(hid_t file, const MoeResults *R)
{
  hid_t   type = SessionType(), dset;
  hsize_t dims[1] = {(hsize_t)R->nsessions};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateChecksummed(file, "sessions", type, 1, dims, &dset));
  MoeH5Call(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->sessions));
  PetscCall(MoeH5AttrWriteString(dset, "meaning", "one row per invocation of moerate run on this file: start, end (UNIX seconds; end 0 while running), io_time (seconds spent writing this file, up to the last write), ranks, exit_status (-1 while running), host of rank 0"));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Tclose(type));
  PetscFunctionReturn(0);
}

static PetscErrorCode SyncFile(const char path[])
{
  int fd = open(path, O_RDONLY);

  PetscFunctionBegin;
  PetscCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot reopen %s", path);
  if (fsync(fd)) {
    int e = errno;
    close(fd);
    unlink(path); /* an unsynced copy is worth nothing */
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s to disk (fsync: %s): the results file was not replaced", path, strerror(e));
  }
  PetscCheck(close(fd) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s to disk (close: %s): the results file was not replaced", path, strerror(errno));
  PetscFunctionReturn(0);
}

static hid_t FileAccess(void)
{
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, 0, 1); /* the file is replaced by rename; locks break on NFS/Lustre */
  return fapl;
}

/* Write the whole results file: to PATH.tmp-<pid>, fsync, rename over PATH. */
PetscErrorCode MoeResultsWrite(const MoeResults *R, const char path[], const char command[], PetscBool complete, PetscLogDouble session_start, PetscReal delay)
{
  const MoeGrid *G = R->grid;
  char           tmp[PETSC_MAX_PATH_LEN + 32], created[64];
  hid_t          file, fapl = FileAccess();
  PetscInt       e;
  PetscInt64     pending = 0, i;
  time_t         first   = (time_t)(R->nsessions ? R->sessions[0].start : session_start);

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()));
  file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  PetscCheck(file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create %s (disk full or directory not writable?)", tmp);
  for (i = 0; i < G->ntasks; i++)
    if (R->records[i].status == MOE_FIT_PENDING) pending++;
  PetscCall(MoeH5AttrWriteString(file, "kind", "moerate run"));
  PetscCall(MoeH5AttrWriteInt(file, "format_version", MOE_FORMAT_VERSION));
  PetscCall(MoeH5WriteProvenance(file, PETSC_COMM_SELF, command));
  if (R->nsessions) PetscCall(MoeH5AttrWriteInt(file, "ranks", R->sessions[R->nsessions - 1].ranks)); /* of this session */
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S%z", localtime(&first));
  PetscCall(MoeH5AttrWriteString(file, "created", created));
  PetscCall(MoeH5AttrWriteString(file, "spec", G->spec->text));
  PetscCall(MoeH5AttrWriteString(file, "spec_hash", G->spec->hash));
  PetscCall(MoeH5AttrWriteString(file, "status", complete ? "complete" : "incomplete"));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_total", G->ntasks));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_done", G->ntasks - pending));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_failed", R->failed));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_pending", pending));
  PetscCall(WriteGrid(file, G));
  PetscCall(WriteModels(file, G));
  for (e = 0; e < G->spec->nexperts; e++) { /* one group per truth expert family */
    char      gname[MOE_NAME_LEN + 8];
    PetscBool written;
    PetscCall(PetscSNPrintf(gname, sizeof(gname), "truth/%s", R->truths[e]->model->expert->type));
    PetscCall(MoeH5LinkExists(file, "truth", &written));
    if (written) PetscCall(MoeH5LinkExists(file, gname, &written));
    if (!written) PetscCall(MoeStoreWriteTruth(file, R->truths[e]));
  }
  PetscCall(WriteTasks(file, R));
  PetscCall(WriteSessions(file, R));
  MoeH5Call(H5Fclose(file));
  PetscCall(SyncFile(tmp));
  if (delay > 0) usleep((useconds_t)(1e6 * delay)); /* testing: a window to be killed in */
  PetscCheck(rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s", tmp, path);
  PetscFunctionReturn(0);
}

/* Read an earlier run's results into R.  Everything must agree with the grid: a file whose
   records disagree with its spec is refused. */
static PetscErrorCode ResultsRead(MoeResults *R, const char path[], PetscBool retry_failed, PetscBool *found)
{
  const MoeGrid *G = R->grid;
  hid_t          file, fapl, dset, type, space;
  hsize_t        n;
  PetscBool      exists;
  PetscInt64     i;

  PetscFunctionBegin;
  *found = PETSC_FALSE;
  PetscCall(PetscTestFile(path, 'r', &exists));
  if (!exists) PetscFunctionReturn(0);
  fapl = FileAccess();
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  MoeUserCheck(file >= 0, "-output %s cannot be read as HDF5 (truncated or corrupt?): move it away, or rerun with -force to keep it as a backup and start over", path);
  PetscCall(MoeH5DatasetSize(file, "tasks/records", &n));
  MoeUserCheck((PetscInt64)n == G->ntasks, "-output %s has %llu task records but its spec makes %" PetscInt64_FMT ": the file disagrees with its spec (corrupt?); use -force to start over", path, (unsigned long long)n, G->ntasks);
  dset = H5Dopen2(file, "tasks/records", H5P_DEFAULT);
  type = RecordType();
  MoeH5Call(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->records));
  MoeH5Call(H5Tclose(type));
  MoeH5Call(H5Dclose(dset));
  PetscCall(MoeH5ReadReals(file, "tasks/losses", (hsize_t)(G->ntasks * G->spec->nlosses), R->losses));
  PetscCall(MoeH5ReadReals(file, "tasks/theta", (hsize_t)(G->ntasks * G->pmax), R->theta));
  PetscCall(MoeH5DatasetSize(file, "sessions", &n));
  PetscCall(PetscFree(R->sessions));
  PetscCall(PetscCalloc1(n + 1, &R->sessions));
  R->nsessions = (PetscInt)n;
  dset         = H5Dopen2(file, "sessions", H5P_DEFAULT);
  type         = SessionType();
  space        = H5Dget_space(dset);
  MoeH5Call(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->sessions));
  MoeH5Call(H5Sclose(space));
  MoeH5Call(H5Tclose(type));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Fclose(file));

  R->done = R->failed = 0;
  for (i = 0; i < G->ntasks; i++) {
    MoeRecord     *r = &R->records[i];
    const MoeTask *t = &G->tasks[i];
    MoeUserCheck(r->id == t->id && r->kind == t->kind && r->gating == t->gating && r->expert == t->expert && r->n == t->n && r->replicate == t->replicate && r->p == G->pairs[t->pair].p,
                 "-output %s: record %" PetscInt64_FMT " (gating %d, expert %d, n %lld, replicate %lld) disagrees with the spec's task grid: the file is corrupt or was edited; use -force to start over", path, i, (int)r->gating, (int)r->expert, (long long)r->n, (long long)r->replicate);
    MoeUserCheck(r->status >= MOE_FIT_PENDING && r->status <= MOE_FIT_SKIPPED, "-output %s: record %" PetscInt64_FMT " has an invalid status %d: the file is corrupt; use -force to start over", path, i, (int)r->status);
    if (retry_failed && r->status == MOE_FIT_FAILED) r->status = MOE_FIT_PENDING;
    if (r->status != MOE_FIT_PENDING) R->done++;
    if (r->status == MOE_FIT_FAILED) R->failed++;
  }
  *found = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Resume from path.  A file that cannot be read (damaged after its header) is refused, or
   with force kept as a backup while the run starts over. */
PetscErrorCode MoeResultsLoad(MoeResults *R, const char path[], PetscBool retry_failed, PetscBool force, PetscBool *found)
{
  PetscErrorCode ierr;
  char           msg[512] = "";

  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ResultsRead(R, path, retry_failed, found);
  PetscCall(PetscPopErrorHandler());
  if (!ierr) PetscFunctionReturn(0);
  {
    const char *text;
    char       *specific = NULL;
    PetscErrorMessage(ierr, &text, &specific);
    PetscCall(PetscStrncpy(msg, specific && specific[0] ? specific : text, sizeof(msg)));
  }
  if (ierr == MOE_ERR_USER) MoeUserError("%s", msg); /* records that disagree with the spec */
  if (force) {
    MoeResults *fresh;
    PetscCall(MoeResultsBackup(path, "cannot be read"));
    PetscCall(MoeResultsCreate(R->grid, &fresh)); /* forget what was half-read */
    PetscCall(PetscArraycpy(R->records, fresh->records, R->grid->ntasks));
    PetscCall(PetscArraycpy(R->losses, fresh->losses, R->grid->ntasks * R->grid->spec->nlosses));
    PetscCall(PetscArraycpy(R->theta, fresh->theta, R->grid->ntasks * R->grid->pmax));
    PetscCall(PetscFree(R->sessions));
    R->nsessions = 0;
    R->done = R->failed = 0;
    PetscCall(MoeResultsDestroy(&fresh));
    *found = PETSC_FALSE;
    PetscFunctionReturn(0);
  }
  MoeUserError("-output %s cannot be read (damaged? %s): move it away, or add -force to keep it as a backup and start over", path, msg);
}

/* -force: keep an unusable output as PATH.bak-<time> (PATH.bak-<time>-<i> when that exists:
   an earlier backup is never replaced); the run then starts over. */
PetscErrorCode MoeResultsBackup(const char path[], const char why[])
{
  char   bak[PETSC_MAX_PATH_LEN + 64];
  time_t now = time(NULL);
  int    i, r = -1;

  PetscFunctionBegin;
  for (i = 0; i < 1000 && r; i++) {
    if (i) PetscCall(PetscSNPrintf(bak, sizeof(bak), "%s.bak-%ld-%d", path, (long)now, i));
    else PetscCall(PetscSNPrintf(bak, sizeof(bak), "%s.bak-%ld", path, (long)now));
    r = renameat2(AT_FDCWD, path, AT_FDCWD, bak, RENAME_NOREPLACE);
    if (r && errno != EEXIST) break;
  }
  MoeUserCheck(r == 0, "-output %s %s, and it cannot be moved to %s (%s)", path, why, bak, strerror(errno));
  fprintf(stderr, "moerate: -force: %s %s; kept it as %s and starting over\n", path, why, bak);
  PetscFunctionReturn(0);
}

/* Before any work: an existing output must be a moerate results file of the same spec.
   With force, a mismatching or unreadable file is kept as PATH.bak-<time> and the run starts over. */
/* Why an existing output cannot be resumed with spec s ("" when it can). */
static PetscErrorCode ExistingProblem(const MoeSpec *s, const char path[], char why[], size_t len)
{
  char  hash[32] = "", kind[64] = "";
  hid_t file, fapl;

  PetscFunctionBegin;
  why[0] = 0;
  if (H5Fis_hdf5(path) <= 0) {
    PetscCall(PetscSNPrintf(why, len, "is not an HDF5 file"));
    PetscFunctionReturn(0);
  }
  fapl = FileAccess();
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (file < 0) {
    PetscCall(PetscSNPrintf(why, len, "cannot be read as HDF5 (truncated or corrupt?)"));
    PetscFunctionReturn(0);
  }
  {
    PetscBool has;
    PetscCall(MoeH5AttrExists(file, "kind", &has));
    if (has) PetscCall(MoeH5AttrReadString(file, "kind", kind, sizeof(kind)));
    if (!has || strcmp(kind, "moerate run")) PetscCall(PetscSNPrintf(why, len, "is not a moerate run results file"));
    else {
      PetscInt64 version = 0;
      PetscCall(MoeH5AttrExists(file, "format_version", &has));
      if (has) PetscCall(MoeH5AttrReadInt(file, "format_version", &version));
      if (version != MOE_FORMAT_VERSION) {
        PetscCall(PetscSNPrintf(why, len, "was written in file format %lld, this moerate writes format %d", (long long)version, MOE_FORMAT_VERSION));
        H5Fclose(file);
        PetscFunctionReturn(0);
      }
      PetscCall(MoeH5AttrReadString(file, "spec_hash", hash, sizeof(hash)));
      if (strcmp(hash, s->hash)) PetscCall(PetscSNPrintf(why, len, "was written from another spec (hash %s, this spec %s)", hash, s->hash));
    }
  }
  H5Fclose(file);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsCheckExisting(const MoeSpec *s, const char path[], PetscBool force)
{
  PetscBool      exists;
  char           why[512];
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscTestFile(path, '\0', &exists));
  if (!exists) PetscFunctionReturn(0);
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ExistingProblem(s, path, why, sizeof(why));
  PetscCall(PetscPopErrorHandler());
  if (ierr) PetscCall(PetscSNPrintf(why, sizeof(why), "cannot be read as a results file (damaged?)"));
  if (!why[0]) PetscFunctionReturn(0);
  if (force) {
    PetscCall(MoeResultsBackup(path, why));
    PetscFunctionReturn(0);
  }
  MoeUserError("-output %s %s: choose another -output, or add -force to keep it as a backup and start over", path, why);
}

static int  lock_fd = -1;
static char lock_path[PETSC_MAX_PATH_LEN + 8];

/* One run per results file: an exclusive lock on PATH.lock for the whole run (two runs
   replacing the same file would each drop the other's results).  Temporary files left by
   a killed run are removed once the lock is held. */
/* Remove the temporary files PATH.tmp-<pid> a killed run left: names compared literally (an
   output name with glob characters must not match another run's files). */
static PetscErrorCode RemoveStaleTemporaries(const char path[])
{
  char           dir[PETSC_MAX_PATH_LEN], base[PETSC_MAX_PATH_LEN], prefix[PETSC_MAX_PATH_LEN + 8], file[2 * PETSC_MAX_PATH_LEN + 2];
  DIR           *d;
  struct dirent *e;
  size_t         len;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  PetscCall(PetscStrncpy(base, path, sizeof(base)));
  PetscCall(PetscSNPrintf(prefix, sizeof(prefix), "%s.tmp-", basename(base)));
  len = strlen(prefix);
  d   = opendir(dirname(dir));
  if (!d) PetscFunctionReturn(0);
  while ((e = readdir(d))) {
    const char *pid = e->d_name + len;
    if (strncmp(e->d_name, prefix, len) || !*pid || strspn(pid, "0123456789") != strlen(pid)) continue;
    PetscCall(PetscSNPrintf(file, sizeof(file), "%s/%s", dir, e->d_name));
    unlink(file);
  }
  closedir(d);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsLock(const char path[])
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(lock_path, sizeof(lock_path), "%s.lock", path));
  lock_fd = open(lock_path, O_RDWR | O_CREAT, 0644);
  MoeUserCheck(lock_fd >= 0, "-output %s: cannot create the lock file %s (%s)", path, lock_path, strerror(errno));
  if (flock(lock_fd, LOCK_EX | LOCK_NB)) {
    int e = errno;
    close(lock_fd);
    lock_fd = -1;
    MoeUserCheck(e != EWOULDBLOCK, "-output %s is being written by another moerate run (lock %s is held): wait for it to finish or choose another -output", path, lock_path);
    MoeUserError("-output %s: cannot lock %s (%s): this filesystem does not support flock (some Lustre and NFS mounts); write the output to a filesystem that does, e.g. node-local or home storage", path, lock_path, strerror(e));
  }
  PetscCall(RemoveStaleTemporaries(path));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsUnlock(void)
{
  PetscFunctionBegin;
  if (lock_fd >= 0) {
    unlink(lock_path);
    close(lock_fd);
    lock_fd = -1;
  }
  PetscFunctionReturn(0);
}
