/* Reading the results file back: resuming a run (its records, losses, parameters and sessions, each
   checked against the grid before it is read), and the checks of an existing output before any work. */
#include <moe/private/storeimpl.h>
#include <unistd.h>
#include <errno.h>

#define MOE_MAX_SESSIONS (1 << 20) /* one row per run of the file */

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

/* Read all of the open dataset dset into buf as memtype; closes both (what names it in the error). */
static PetscErrorCode ReadWhole(hid_t dset, hid_t memtype, const char what[], void *buf)
{
  herr_t e = H5Dread(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);

  PetscFunctionBegin;
  H5Tclose(memtype);
  H5Dclose(dset);
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read %s", what);
  PetscFunctionReturn(0);
}

/* /tasks/records: one record per task of the grid, of the table's type (the caller closes
   what an error leaves open: MoeH5CloseFile). */
static PetscErrorCode ReadRecords(hid_t file, MoeResults *R)
{
  hsize_t        dims[1] = {(hsize_t)R->grid->ntasks};
  hid_t          dset, ftype;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(MoeH5CheckShape(file, "tasks/records", 1, dims));
  dset = H5Dopen2(file, "tasks/records", H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /tasks/records");
  ftype = H5Dget_type(dset);
  PetscCheck(ftype >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read the type of /tasks/records");
  ierr = MoeStoreCheckRecordType(ftype);
  H5Tclose(ftype);
  PetscCall(ierr);
  PetscCall(ReadWhole(dset, MoeStoreRecordType(), "/tasks/records (a damaged chunk fails its checksum)", R->records));
  PetscFunctionReturn(0);
}

/* /sessions: checked to hold a sane number of rows before they are allocated. */
static PetscErrorCode ReadSessions(hid_t file, MoeResults *R)
{
  hsize_t dims[MOE_H5_MAX_RANK];
  int     rank;
  hid_t   dset;

  PetscFunctionBegin;
  PetscCall(MoeH5DatasetShape(file, "sessions", &rank, dims));
  PetscCheck(rank == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/sessions has %d dimensions, not 1", rank);
  PetscCheck(dims[0] <= MOE_MAX_SESSIONS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/sessions claims %llu rows (one per run of the file, at most %d)", (unsigned long long)dims[0], MOE_MAX_SESSIONS);
  PetscCall(PetscFree(R->sessions));
  PetscCall(PetscCalloc1((size_t)dims[0] + 1, &R->sessions));
  R->nsessions = (PetscInt)dims[0];
  dset         = H5Dopen2(file, "sessions", H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /sessions");
  PetscCall(ReadWhole(dset, MoeStoreSessionType(), "/sessions", R->sessions));
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
  fapl = MoeStoreFileAccess();
  file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  MoeUserCheck(file >= 0, "-output %s cannot be read as HDF5 (truncated or corrupt?): move it away, or rerun with -force to keep it as a backup and start over", path);
  ierr = MoeH5RefuseForeignLinks(file, "-output", path, "move it away, or rerun with -force to keep it as a backup and start over");
  if (!ierr) ierr = ReadContents(file, R);
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
  char           msg[MOE_MESSAGE_LEN] = "";

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
  PetscCall(PetscStrncpy(msg, MoeErrorText(ierr), sizeof(msg)));
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
  char        hash[32] = "", kind[64] = "", link[256];
  PetscBool   has;
  PetscInt64  version = 0;
  const char *linkkind;

  PetscFunctionBegin;
  PetscCall(MoeH5FindForeignLink(file, link, sizeof(link), &linkkind));
  if (link[0]) {
    PetscCall(PetscSNPrintf(why, len, "holds %s at /%s, which moerate never writes (an edited or crafted file)", linkkind, link));
    PetscFunctionReturn(0);
  }
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
  fapl = MoeStoreFileAccess();
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
  char           why[MOE_MESSAGE_LEN];
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscTestFile(path, '\0', &exists));
  if (!exists) PetscFunctionReturn(0);
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ExistingProblem(s, path, why, sizeof(why));
  PetscCall(PetscPopErrorHandler());
  if (ierr) PetscCall(PetscSNPrintf(why, sizeof(why), "cannot be read as a results file (damaged? %s)", MoeErrorText(ierr)));
  if (!why[0]) PetscFunctionReturn(0);
  if (force) {
    PetscCall(MoeResultsBackup(path, why));
    PetscFunctionReturn(0);
  }
  MoeUserError("-output %s %s: choose another -output, or add -force to keep it as %s.bak-TIME and start over", path, why, path);
}
