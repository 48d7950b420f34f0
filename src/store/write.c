/* The whole write of the results file: every group and dataset of docs/FORMAT.md, to a temporary name,
   synced and renamed over the file; results finished since are appended to the journal (journal.c). */
#include <moe/private/storeimpl.h>
#include <moeloss.h>
#include <unistd.h>
#include <time.h>
#include <errno.h>

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
  type = MoeStoreRecordType();
  PetscCall(MoeH5CreateChecksummed(g, "records", type, 1, dims, &dset));
  MoeH5Call(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->records));
  PetscCall(MoeStoreRecordDoc(doc, sizeof(doc)));
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
  hid_t   type = MoeStoreSessionType(), dset;
  hsize_t dims[1] = {(hsize_t)R->nsessions};

  PetscFunctionBegin;
  PetscCall(MoeH5CreateChecksummed(file, "sessions", type, 1, dims, &dset));
  MoeH5Call(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, R->sessions));
  PetscCall(MoeH5AttrWriteString(dset, "meaning", "one row per invocation of moerate run on this file: start, end (UNIX seconds; end 0 while running), io_time (seconds spent writing this file, up to the last write), ranks, exit_status (-1 while running), host of rank 0"));
  MoeH5Call(H5Dclose(dset));
  MoeH5Call(H5Tclose(type));
  PetscFunctionReturn(0);
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
  hid_t      fapl = MoeStoreFileAccess();
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
