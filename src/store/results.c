/* The results of a run: in memory on the master, and the HDF5 file (layout: docs/FORMAT.md).
   The file is always written whole, to a temporary name, and renamed into place; results
   finished between two whole writes are appended to PATH.journal (journal.c). */
#define _GNU_SOURCE /* renameat2: a backup never replaces an earlier one */
#include <moerun.h>
#include <moestore.h>
#include <moeloss.h>
#include <moeestimator.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <dirent.h>
#include <libgen.h>
#include <errno.h>
#include <stdio.h>
#include <sys/file.h>
#include <stddef.h>

#define MOE_FORMAT_VERSION 4 /* 2: certificates in the records, checksummed datasets; 3: estimators; 4: restart tasks */

PetscErrorCode MoeResultsBackup(const char[], const char[]);


/* The record layout, one row per field in file order: the compound type, its documentation
   (the "meaning" attribute of /tasks/records) and docs/FORMAT.md's table follow from it
   (tests/python/test_layout.py checks FORMAT.md against a results file). */
typedef struct {
  const char *name;
  size_t      offset;
  int         type; /* 0 int32, 1 int64, 2 uint64, 3 double */
  const char *meaning;
} MoeRecordField;

#define F(field, type, meaning) {#field, offsetof(MoeRecord, field), type, meaning}
static const MoeRecordField record_fields[] = {
  F(id, 1, "task id = row"),
  F(kind, 0, "0 replicate, 1 reference fit G-bar, 2 restart (the stability diagnostic: a replicate's data fitted again from other starts)"),
  F(gating, 0, "index into /grid/gatings"),
  F(expert, 0, "index into /grid/experts"),
  F(estimator, 0, "index into /grid/estimators (reference fits: 0)"),
  F(n, 1, "sample size"),
  F(replicate, 1, "replicate index"),
  F(seed, 2, "seed of the data stream (SplitMix64 of seed, stream, n, replicate)"),
  F(status, 0, "0 pending, 1 converged, 2 failed, 3 skipped"),
  F(reason, 0, "TaoConvergedReason (8 = CONVERGED_FTOL, moerate's objective-decrease test), -100 PETSc error in the solve (e.g. Inf/NaN), -101 unbounded, -102 stalled"),
  F(iterations, 0, "TAO iterations"),
  F(start, 0, "the start kept (multi-start)"),
  F(rank, 0, "MPI rank that ran it"),
  F(p, 0, "parameters (full layout)"),
  F(certified, 0, "replicate: 1 when gap <= -certify_tol; reference: 1 when G-bar is identified"),
  F(starts_used, 0, "starts the fit took"),
  F(restart, 0, "restart tasks: which restart of the replicate (1, 2, ...); else 0"),
  F(objective, 3, "(1/2n) sum (Y - f(X))^2"),
  F(gradient_norm, 3, "norm of its gradient"),
  F(ref_objective, 3, "objective of the reference point (truth embedded in k atoms, or G-bar) on the same data"),
  F(gap, 3, "2n/noise (objective - ref_objective)"),
  F(gradient_z, 3, "max_j |g_j| / sqrt(noise H_jj / n) at the end of the kept fit"),
  F(weak_sd, 3, "reference: sd along G-bar's weakest Fisher direction at the smallest n"),
  F(wall_time, 3, "seconds"),
  F(t_start, 3, "UNIX time in seconds"),
  F(t_end, 3, "UNIX time in seconds"),
};
#undef F
#define NFIELDS (sizeof(record_fields) / sizeof(record_fields[0]))

static hid_t RecordType(void)
{
  hid_t  t        = H5Tcreate(H5T_COMPOUND, sizeof(MoeRecord));
  hid_t  types[4] = {H5T_NATIVE_INT32, H5T_NATIVE_INT64, H5T_NATIVE_UINT64, H5T_NATIVE_DOUBLE};
  size_t i;

  for (i = 0; i < NFIELDS; i++) H5Tinsert(t, record_fields[i].name, record_fields[i].offset, types[record_fields[i].type]);
  return t;
}

/* "one record per task, row i = task id i. id: ...; kind: ...; ..." */
static PetscErrorCode RecordDoc(char *buf, size_t len)
{
  size_t i;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(buf, "one record per task, row i = task id i. ", len));
  for (i = 0; i < NFIELDS; i++) {
    PetscCall(PetscStrlcat(buf, record_fields[i].name, len));
    PetscCall(PetscStrlcat(buf, ": ", len));
    PetscCall(PetscStrlcat(buf, record_fields[i].meaning, len));
    PetscCall(PetscStrlcat(buf, i + 1 < NFIELDS ? "; " : "", len));
  }
  PetscFunctionReturn(0);
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
  for (i = 0; i < s->nestimators; i++) names[i] = s->estimators[i];
  PetscCall(WriteStrings(g, "estimators", s->nestimators, names, "estimators fitted to the same data; records' estimator field indexes this list"));
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
  PetscCall(MoeH5AttrWriteString(g, "model", MoeModelTypes[s->model]));
  PetscCall(MoeH5AttrWriteInt(g, "seed", s->seed));
  PetscCall(MoeH5AttrWriteInt(g, "reference_n", s->reference_n));
  PetscCall(MoeH5AttrWriteInt(g, "eval_n", s->eval_n));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

/* /models/<gating>__<expert>: layout of each pair's rows of /tasks/theta. */
static PetscErrorCode WriteModels(hid_t file, const MoeResults *R)
{
  const MoeGrid *G = R->grid;
  const MoeSpec *s = G->spec;
  hid_t          top, g;
  PetscInt       q;

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "models", &top));
  for (q = 0; q < G->npairs; q++) {
    const MoePair *P = &G->pairs[q];
    MoeModel       m = R->models[q];
    char           name[2 * MOE_NAME_LEN + 2];
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s__%s", s->gatings[P->gating], s->experts[P->expert]));
    PetscCall(MoeH5CreateGroup(top, name, &g));
    PetscCall(MoeStoreWriteFittedModel(g, m));
    PetscCall(MoeH5AttrWriteInt(g, "reference_task", P->reference_id));
    MoeH5Call(H5Gclose(g));
  }
  MoeH5Call(H5Gclose(top));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteTasks(hid_t file, const MoeResults *R)
{
  const MoeGrid *G = R->grid;
  hid_t          g, type, dset;
  char           doc[4096];
  hsize_t        dims[2] = {(hsize_t)G->ntasks, 0};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateGroup(file, "tasks", &g));
  type = RecordType();
  PetscCall(MoeH5CreateChecksummed(g, "records", type, 1, dims, &dset));
  MoeH5Call(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->records));
  PetscCall(RecordDoc(doc, sizeof(doc)));
  PetscCall(MoeH5AttrWriteString(dset, "meaning", doc));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Tclose(type));
  dims[1] = (hsize_t)G->spec->nlosses;
  PetscCall(MoeH5WriteRowsSparse(g, "losses", dims, R->losses, "loss units (see /grid/loss_meanings)", "losses of each task, columns as /grid/losses; NaN: not applicable or not done"));
  dims[1] = (hsize_t)G->pmax;
  PetscCall(MoeH5WriteRowsSparse(g, "theta", dims, R->theta, "parameter units", "fitted parameters of each task in its model's layout (/models/<gating>__<expert>), first p entries; NaN beyond p and for tasks not done"));
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

/* Make the directory entries of path's directory durable (a rename, a new file). */
PetscErrorCode MoeSyncDirectory(const char path[])
{
  char dir[PETSC_MAX_PATH_LEN];
  int  fd;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  fd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
  if (fd < 0) PetscFunctionReturn(0); /* not every filesystem lets a directory be opened */
  fsync(fd); /* some filesystems refuse fsync on directories: what they do not order they do not promise */
  close(fd);
  PetscFunctionReturn(0);
}

static hid_t FileAccess(void)
{
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, 0, 1); /* the file is replaced by rename; locks break on NFS/Lustre */
  return fapl;
}

typedef struct {
  MoeResults    *R;
  const char    *command, *token;
  PetscBool      complete;
  PetscLogDouble session_start;
} WholeWrite;

/* The root group's attributes of a whole write. */
static PetscErrorCode WriteRootAttributes(hid_t file, const WholeWrite *w)
{
  const MoeResults *R = w->R;
  const MoeGrid    *G = R->grid;
  char              created[64];
  PetscInt64        pending = 0, i;
  time_t            first   = (time_t)(R->nsessions ? R->sessions[0].start : w->session_start);

  PetscFunctionBegin;
  for (i = 0; i < G->ntasks; i++)
    if (R->records[i].status == MOE_FIT_PENDING) pending++;
  PetscCall(MoeH5AttrWriteString(file, "kind", "moerate run"));
  PetscCall(MoeH5AttrWriteInt(file, "format_version", MOE_FORMAT_VERSION));
  PetscCall(MoeH5WriteProvenance(file, PETSC_COMM_SELF, w->command));
  if (R->nsessions) PetscCall(MoeH5AttrWriteInt(file, "ranks", R->sessions[R->nsessions - 1].ranks)); /* of this session */
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S%z", localtime(&first));
  PetscCall(MoeH5AttrWriteString(file, "created", created));
  PetscCall(MoeH5AttrWriteString(file, "spec", G->spec->text));
  PetscCall(MoeH5AttrWriteString(file, "spec_hash", G->spec->hash));
  PetscCall(MoeH5AttrWriteString(file, "status", w->complete ? "complete" : "incomplete"));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_total", G->ntasks));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_done", G->ntasks - pending));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_failed", R->failed));
  PetscCall(MoeH5AttrWriteInt(file, "tasks_pending", pending));
  PetscCall(MoeH5AttrWriteString(file, "journal_token", w->token));
  PetscCall(MoeH5AttrWriteString(file, "previous_journal_token", R->token));
  PetscFunctionReturn(0);
}

/* One /truth group per truth expert family. */
static PetscErrorCode WriteTruths(hid_t file, const MoeResults *R)
{
  PetscFunctionBegin;
  for (PetscInt e = 0; e < R->grid->spec->nexperts; e++) {
    char      gname[MOE_NAME_LEN + 8];
    PetscBool written;
    PetscCall(PetscSNPrintf(gname, sizeof(gname), "truth/%s", R->truths[e]->model->efamily->name));
    PetscCall(MoeH5LinkExists(file, "truth", &written));
    if (written) PetscCall(MoeH5LinkExists(file, gname, &written));
    if (!written) PetscCall(MoeStoreWriteTruth(file, R->truths[e]));
  }
  PetscFunctionReturn(0);
}

/* Everything a whole write holds (layout: docs/FORMAT.md). */
static PetscErrorCode WriteWhole(hid_t file, void *ctx)
{
  const WholeWrite *w = (const WholeWrite *)ctx;

  PetscFunctionBegin;
  PetscCall(WriteRootAttributes(file, w));
  PetscCall(WriteGrid(file, w->R->grid));
  PetscCall(WriteModels(file, w->R));
  PetscCall(MoeStoreWriteFamilies(file, w->R->grid->spec));
  PetscCall(WriteTruths(file, w->R));
  PetscCall(WriteTasks(file, w->R));
  PetscCall(WriteSessions(file, w->R));
  PetscFunctionReturn(0);
}

/* Write the whole results file: to PATH.tmp-<pid>, fsynced, renamed over PATH; it holds
   every journalled result, so the journal goes.  A write that fails (a full disk) closes what it
   opened, removes PATH.tmp-<pid> and leaves PATH and its journal as they were. */
PetscErrorCode MoeResultsWrite(MoeResults *R, const char path[], const char command[], PetscBool complete, PetscLogDouble session_start, PetscReal delay)
{
  char       tmp[PETSC_MAX_PATH_LEN + 32], token[MOE_TOKEN_LEN], why[256];
  hid_t      fapl = FileAccess();
  PetscBool  ok;
  WholeWrite w    = {R, command, token, complete, session_start};

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()));
  PetscCall(MoeJournalNewToken(token));
  PetscCall(MoeH5WriteFile(tmp, fapl, WriteWhole, &w, why, sizeof(why), &ok));
  H5Pclose(fapl);
  if (!ok) MoeIOError("-output %s: cannot write the results to %s (%s): free space on its filesystem (or fix the disk), then rerun the same command to resume; %s was not replaced", path, tmp, why, path);
  if (delay > 0) usleep((useconds_t)(1e6 * delay)); /* testing: a window to be killed in */
  if (rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    MoeIOError("-output %s: cannot rename %s to it (%s): fix the directory, then rerun the same command to resume; %s was not replaced", path, tmp, strerror(e), path);
  }
  PetscCall(MoeSyncDirectory(path)); /* the rename on disk before the journal goes (a node crash between them) */
  PetscCall(MoeJournalRemove(path));
  PetscCall(PetscStrncpy(R->previous_token, R->token, sizeof(R->previous_token)));
  PetscCall(PetscStrncpy(R->token, token, sizeof(R->token)));
  PetscFunctionReturn(0);
}

/* A token attribute ("" in files written before journals). */
static PetscErrorCode ReadToken(hid_t file, const char name[], char token[MOE_TOKEN_LEN])
{
  PetscBool has;

  PetscFunctionBegin;
  token[0] = 0;
  PetscCall(MoeH5AttrExists(file, name, &has));
  if (has) PetscCall(MoeH5AttrReadString(file, name, token, MOE_TOKEN_LEN));
  PetscFunctionReturn(0);
}

/* Member j of the file's record type must be field f of the table: its type and offset. */
static PetscErrorCode CheckRecordMember(hid_t ftype, int j, const MoeRecordField *f)
{
  static const H5T_class_t classes[4] = {H5T_INTEGER, H5T_INTEGER, H5T_INTEGER, H5T_FLOAT};
  static const size_t      sizes[4]   = {4, 8, 8, 8};
  static const H5T_sign_t  signs[4]   = {H5T_SGN_2, H5T_SGN_2, H5T_SGN_NONE, H5T_SGN_ERROR};
  static const char       *names[4]   = {"int32", "int64", "uint64", "float64"};
  hid_t                    mt         = H5Tget_member_type(ftype, (unsigned)j);
  H5T_class_t              c          = mt >= 0 ? H5Tget_class(mt) : H5T_NO_CLASS;
  size_t                   size       = mt >= 0 ? H5Tget_size(mt) : 0;
  H5T_sign_t               sign       = c == H5T_INTEGER ? H5Tget_sign(mt) : H5T_SGN_ERROR;
  size_t                   offset     = H5Tget_member_offset(ftype, (unsigned)j);

  PetscFunctionBegin;
  if (mt >= 0) H5Tclose(mt);
  PetscCheck(c == classes[f->type] && size == sizes[f->type] && sign == signs[f->type], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "the field '%s' of /tasks/records is not %s", f->name, names[f->type]);
  PetscCheck(offset == f->offset, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "the field '%s' of /tasks/records is at byte %zu of a record, not %zu", f->name, offset, f->offset);
  PetscFunctionReturn(0);
}

/* The records' type in the file must be the table's, field by field (name, type, offset):
   read with the table's type, a record without `objective` or `certified` would come back
   NaN or uncertified and be written back under fresh checksums. */
static PetscErrorCode CheckRecordType(hid_t ftype)
{
  int n = H5Tget_class(ftype) == H5T_COMPOUND ? H5Tget_nmembers(ftype) : -1;

  PetscFunctionBegin;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/tasks/records is not a table of records");
  for (size_t i = 0; i < NFIELDS; i++) {
    int j = H5Tget_member_index(ftype, record_fields[i].name);
    PetscCheck(j >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/tasks/records has no field '%s'", record_fields[i].name);
    PetscCall(CheckRecordMember(ftype, j, &record_fields[i]));
  }
  PetscCheck(n == (int)NFIELDS && H5Tget_size(ftype) == sizeof(MoeRecord), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/tasks/records has %d fields in %zu bytes, a record has %d in %zu", n, H5Tget_size(ftype), (int)NFIELDS, sizeof(MoeRecord));
  PetscFunctionReturn(0);
}

/* /tasks/records: one record per task of the grid, of the table's type (the caller closes
   what an error leaves open: MoeH5CloseFile). */
static PetscErrorCode ReadRecords(hid_t file, MoeResults *R)
{
  hsize_t        dims[1] = {(hsize_t)R->grid->ntasks};
  hid_t          dset, ftype, type;
  PetscErrorCode ierr;
  herr_t         e;

  PetscFunctionBegin;
  PetscCall(MoeH5CheckShape(file, "tasks/records", 1, dims));
  dset = H5Dopen2(file, "tasks/records", H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /tasks/records");
  ftype = H5Dget_type(dset);
  PetscCheck(ftype >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read the type of /tasks/records");
  ierr = CheckRecordType(ftype);
  H5Tclose(ftype);
  PetscCall(ierr);
  type = RecordType();
  e    = H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->records);
  H5Tclose(type);
  H5Dclose(dset);
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read /tasks/records (a damaged chunk fails its checksum)");
  PetscFunctionReturn(0);
}

#define MOE_MAX_SESSIONS (1 << 20) /* one row per run of the file */

/* /sessions: checked to hold a sane number of rows before they are allocated. */
static PetscErrorCode ReadSessions(hid_t file, MoeResults *R)
{
  hsize_t dims[MOE_H5_MAX_RANK];
  int     rank;
  hid_t   dset, type;
  herr_t  e;

  PetscFunctionBegin;
  PetscCall(MoeH5DatasetShape(file, "sessions", &rank, dims));
  PetscCheck(rank == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/sessions has %d dimensions, not 1", rank);
  PetscCheck(dims[0] <= MOE_MAX_SESSIONS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/sessions claims %llu rows (one per run of the file, at most %d)", (unsigned long long)dims[0], MOE_MAX_SESSIONS);
  PetscCall(PetscFree(R->sessions));
  PetscCall(PetscCalloc1((size_t)dims[0] + 1, &R->sessions));
  R->nsessions = (PetscInt)dims[0];
  dset         = H5Dopen2(file, "sessions", H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /sessions");
  type = SessionType();
  e    = H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->sessions);
  H5Tclose(type);
  H5Dclose(dset);
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read /sessions");
  PetscFunctionReturn(0);
}

/* Every dataset's shape is checked against the grid before a value is read. */
static PetscErrorCode ReadContents(hid_t file, MoeResults *R)
{
  const MoeGrid *G = R->grid;
  hsize_t        dims[2];

  PetscFunctionBegin;
  PetscCall(ReadRecords(file, R));
  dims[0] = (hsize_t)G->ntasks;
  dims[1] = (hsize_t)G->spec->nlosses;
  PetscCall(MoeH5ReadReals(file, "tasks/losses", 2, dims, R->losses));
  dims[1] = (hsize_t)G->pmax;
  PetscCall(MoeH5ReadReals(file, "tasks/theta", 2, dims, R->theta));
  PetscCall(ReadSessions(file, R));
  PetscCall(ReadToken(file, "journal_token", R->token));
  PetscCall(ReadToken(file, "previous_journal_token", R->previous_token));
  PetscFunctionReturn(0);
}

/* Read an earlier run's results into R.  Everything must agree with the grid: a file whose
   records disagree with its spec is refused. */
static PetscErrorCode ResultsRead(MoeResults *R, const char path[], PetscBool *found)
{
  hid_t          file, fapl;
  PetscBool      exists;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *found = PETSC_FALSE;
  PetscCall(PetscTestFile(path, 'r', &exists));
  if (!exists) PetscFunctionReturn(0);
  fapl = FileAccess();
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  MoeUserCheck(file >= 0, "-output %s cannot be read as HDF5 (truncated or corrupt?): move it away, or rerun with -force to keep it as a backup and start over", path);
  ierr = ReadContents(file, R);
  MoeH5CloseFile(file);
  PetscCall(ierr);
  *found = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Every record must agree with the grid: a file whose records disagree with its spec is
   refused.  Count what is done; with retry_failed, failed tasks become pending. */
static PetscErrorCode CountResults(MoeResults *R, const char path[], PetscBool retry_failed)
{
  const MoeGrid *G = R->grid;

  PetscFunctionBegin;
  R->done = R->failed = 0;
  for (PetscInt64 i = 0; i < G->ntasks; i++) {
    MoeRecord *r = &R->records[i];
    MoeUserCheck(r->id == i && MoeRecordIsTask(G, r),
                 "-output %s: record %" PetscInt64_FMT " (gating %d, expert %d, n %lld, replicate %lld) disagrees with the spec's task grid: the file is corrupt or was edited; use -force to start over", path, i, (int)r->gating, (int)r->expert, (long long)r->n, (long long)r->replicate);
    MoeUserCheck(r->status >= MOE_FIT_PENDING && r->status <= MOE_FIT_SKIPPED, "-output %s: record %" PetscInt64_FMT " has an invalid status %d: the file is corrupt; use -force to start over", path, i, (int)r->status);
    if (retry_failed && r->status == MOE_FIT_FAILED) r->status = MOE_FIT_PENDING;
    if (r->status != MOE_FIT_PENDING) R->done++;
    if (r->status == MOE_FIT_FAILED) R->failed++;
  }
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
  ierr = ResultsRead(R, path, found);
  PetscCall(PetscPopErrorHandler());
  if (!ierr) { /* then the journal (beside no file: kept aside), outside the handler: its errors are its own */
    PetscInt64 merged;
    PetscCall(MoeJournalReplay(R, path, &merged));
    if (merged) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "moerate: merged %lld results from %s.journal (finished after the last whole write of the file)\n", (long long)merged, path));
    if (*found) PetscCall(CountResults(R, path, retry_failed));
    PetscFunctionReturn(0);
  }
  {
    const char *text;
    char       *specific = NULL;
    PetscErrorMessage(ierr, &text, &specific);
    PetscCall(PetscStrncpy(msg, specific && specific[0] ? specific : text, sizeof(msg)));
  }
  if (ierr == MOE_ERR_USER) MoeUserError("%s", msg); /* records that disagree with the spec */
  if (force) {
    const MoeGrid *G = R->grid;
    PetscCall(MoeResultsBackup(path, "cannot be read"));
    for (PetscInt64 i = 0; i < G->ntasks; i++) { /* forget what was half-read */
      MoeRecordInit(G, i, &R->records[i]);
      for (PetscInt j = 0; j < G->spec->nlosses; j++) R->losses[i * G->spec->nlosses + j] = MOE_NAN;
      for (PetscInt j = 0; j < G->pmax; j++) R->theta[i * G->pmax + j] = MOE_NAN;
    }
    PetscCall(PetscFree(R->sessions));
    R->nsessions = 0;
    R->done = R->failed = 0;
    R->token[0] = R->previous_token[0] = 0;
    *found = PETSC_FALSE;
    PetscFunctionReturn(0);
  }
  MoeUserError("-output %s cannot be read (damaged? %s): move it away, or add -force to keep it as %s.bak-TIME and start over", path, msg, path);
}

/* Rename from to stem (stem-<i> when that exists: nothing is ever replaced).  moved is false
   when from does not exist; any other failure is an error naming both paths. */
PetscErrorCode MoeRenameAside(const char what[], const char from[], const char stem[], char chosen[], size_t len, PetscBool *moved)
{
  int i, r = -1;

  PetscFunctionBegin;
  *moved = PETSC_FALSE;
  for (i = 0; i < 1000 && r; i++) {
    if (i) PetscCall(PetscSNPrintf(chosen, len, "%s-%d", stem, i));
    else PetscCall(PetscStrncpy(chosen, stem, len));
    r = renameat2(AT_FDCWD, from, AT_FDCWD, chosen, RENAME_NOREPLACE);
    if (r && errno == ENOENT) PetscFunctionReturn(0);
    if (r && errno != EEXIST) break;
  }
  MoeUserCheck(r == 0, "%s %s must be kept aside but cannot be moved to %s (%s): move it away yourself, then rerun", what, from, chosen, strerror(errno));
  *moved = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* -force: keep an unusable output as PATH.bak-<time> (PATH.bak-<time>-<i> when that exists:
   an earlier backup is never replaced), and its journal as PATH.bak-<time>.journal beside it;
   the run then starts over. */
PetscErrorCode MoeResultsBackup(const char path[], const char why[])
{
  char      stem[PETSC_MAX_PATH_LEN + 32], bak[PETSC_MAX_PATH_LEN + 64], journal[PETSC_MAX_PATH_LEN + 16], bakjournal[PETSC_MAX_PATH_LEN + 96];
  PetscBool moved;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(stem, sizeof(stem), "%s.bak-%ld", path, (long)time(NULL)));
  PetscCall(MoeRenameAside("-output", path, stem, bak, sizeof(bak), &moved));
  MoeUserCheck(moved, "-output %s %s, and it disappeared while being kept aside", path, why);
  fprintf(stderr, "moerate: -force: %s %s; kept it as %s and starting over\n", path, why, bak);
  PetscCall(MoeJournalPath(path, journal, sizeof(journal)));
  PetscCall(MoeJournalPath(bak, stem, sizeof(stem)));
  PetscCall(MoeRenameAside("the journal of -output", journal, stem, bakjournal, sizeof(bakjournal), &moved));
  if (moved) fprintf(stderr, "moerate: -force: its journal %s kept as %s\n", journal, bakjournal);
  PetscFunctionReturn(0);
}

/* Before any work: an existing output must be a moerate results file of the same spec.
   With force, a mismatching or unreadable file is kept as PATH.bak-<time> and the run starts over. */
/* A file resumed by another build of moerate: its fits may round differently (and over-
   specified fits' paths then end a little apart), so say so; the run goes on. */
static PetscErrorCode WarnOtherBuild(hid_t file, const char path[])
{
  char        rev[128] = "";
  const char *mine;
  PetscBool   has;

  PetscFunctionBegin;
  PetscCall(MoeH5AttrExists(file, "git_revision", &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(MoeH5AttrReadString(file, "git_revision", rev, sizeof(rev)));
  PetscCall(MoeGitRevision(&mine));
  if (strcmp(rev, mine)) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "moerate: warning: -output %s was last written by moerate %s, this is %s: the tasks it runs may differ from that build's in their last digits (over-specified fits a little more); to keep every number of the file from one build, resume with the build that started it\n", path, rev, mine));
  PetscFunctionReturn(0);
}

/* Why the open results file cannot be resumed with spec s ("" when it can). */
static PetscErrorCode FileProblem(hid_t file, const MoeSpec *s, const char path[], char why[], size_t len)
{
  char       hash[32] = "", kind[64] = "";
  PetscBool  has;
  PetscInt64 version = 0;

  PetscFunctionBegin;
  PetscCall(MoeH5AttrExists(file, "kind", &has));
  if (has) PetscCall(MoeH5AttrReadString(file, "kind", kind, sizeof(kind)));
  if (!has || strcmp(kind, "moerate run")) {
    PetscCall(PetscSNPrintf(why, len, "is not a moerate run results file"));
    PetscFunctionReturn(0);
  }
  PetscCall(MoeH5AttrExists(file, "format_version", &has));
  if (has) PetscCall(MoeH5AttrReadInt(file, "format_version", &version));
  if (version != MOE_FORMAT_VERSION) {
    PetscCall(PetscSNPrintf(why, len, "was written in file format %lld, this moerate writes format %d", (long long)version, MOE_FORMAT_VERSION));
    PetscFunctionReturn(0);
  }
  PetscCall(MoeH5AttrReadString(file, "spec_hash", hash, sizeof(hash)));
  if (strcmp(hash, s->hash)) PetscCall(PetscSNPrintf(why, len, "was written from another spec (hash %s, this spec %s)", hash, s->hash));
  else PetscCall(WarnOtherBuild(file, path));
  PetscFunctionReturn(0);
}

/* Why an existing output cannot be resumed with spec s ("" when it can). */
static PetscErrorCode ExistingProblem(const MoeSpec *s, const char path[], char why[], size_t len)
{
  hid_t          file, fapl;
  PetscErrorCode ierr;

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
  ierr = FileProblem(file, s, path, why, len);
  MoeH5CloseFile(file);
  PetscCall(ierr);
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
  if (ierr) {
    const char *text;
    char       *specific = NULL;
    PetscErrorMessage(ierr, &text, &specific);
    PetscCall(PetscSNPrintf(why, sizeof(why), "cannot be read as a results file (damaged? %s)", specific && specific[0] ? specific : text));
  }
  if (!why[0]) PetscFunctionReturn(0);
  if (force) {
    PetscCall(MoeResultsBackup(path, why));
    PetscFunctionReturn(0);
  }
  MoeUserError("-output %s %s: choose another -output, or add -force to keep it as %s.bak-TIME and start over", path, why, path);
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
