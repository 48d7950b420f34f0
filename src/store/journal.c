/* The results journal PATH.journal: the results finished since the last whole write of
   PATH, appended at every flush in between (layout: docs/FORMAT.md).

   Rewriting PATH costs time in proportion to the whole grid; appending costs time in
   proportion to the new results.  So PATH is rewritten only as often as writing it stays
   within 1% of the run, and the results in between are appended here and synced, which
   keeps what a kill can lose to the last flush interval however large the file.

   Each entry carries a CRC-32: a kill during an append leaves a torn last entry, which the
   next run detects and drops (that task runs again).  The header names the whole write the
   journal extends (its token, the file's "journal_token" attribute); a journal of an earlier
   whole write ("previous_journal_token") is already inside the file, and any other journal
   belongs to no file here and is kept aside, never replayed. */
#include <moe/private/storeimpl.h>
#include <moeestimator.h>
#include <zlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>

#define MOE_JOURNAL_MAGIC "MOEJRNL1"

/* 72 bytes, native byte order (a journal is read back on the machine kind that wrote it) */
typedef struct {
  char     magic[8];
  uint32_t record_bytes, nlosses, pmax, reserved;
  char     token[24];     /* of the whole write it extends, NUL-terminated */
  char     spec_hash[24]; /* of the spec, NUL-terminated */
} MoeJournalHeader;
_Static_assert(sizeof(MoeJournalHeader) == 72, "docs/FORMAT.md gives the journal header as 72 bytes");

static int journal_fd = -1; /* the master's open journal (one results file per process) */

PetscErrorCode MoeJournalPath(const char path[], char journal[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(journal, len, "%s.journal", path));
  PetscFunctionReturn(0);
}

/* A fresh token for a whole write: 16 hex digits from the kernel's random source. */
PetscErrorCode MoeJournalNewToken(char token[MOE_TOKEN_LEN])
{
  uint64_t r = 0;

  PetscFunctionBegin;
  if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) r = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
  PetscCall(PetscSNPrintf(token, MOE_TOKEN_LEN, "%016llx", (unsigned long long)r));
  PetscFunctionReturn(0);
}

static size_t EntrySize(const MoeGrid *G)
{
  return sizeof(MoeRecord) + sizeof(PetscReal) * (size_t)(G->spec->nlosses + G->pmax) + sizeof(uint32_t);
}

static PetscErrorCode WriteAll(int fd, const void *buf, size_t len, const char journal[])
{
  const char *p = (const char *)buf;

  PetscFunctionBegin;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    PetscCheck(w > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot append to %s (%s): free space or fix the disk, then rerun the same command to resume", journal, w < 0 ? strerror(errno) : "nothing written");
    p += w;
    len -= (size_t)w;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JournalOpen(const MoeResults *R, const char journal[])
{
  const MoeGrid   *G = R->grid;
  MoeJournalHeader h;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&h, sizeof(h)));
  memcpy(h.magic, MOE_JOURNAL_MAGIC, sizeof(h.magic));
  h.record_bytes = (uint32_t)sizeof(MoeRecord);
  h.nlosses      = (uint32_t)G->spec->nlosses;
  h.pmax         = (uint32_t)G->pmax;
  PetscCall(PetscStrncpy(h.token, R->token, sizeof(h.token)));
  PetscCall(PetscStrncpy(h.spec_hash, G->spec->hash, sizeof(h.spec_hash)));
  journal_fd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  PetscCheck(journal_fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s (%s): make its directory writable, then rerun the same command to resume", journal, strerror(errno));
  PetscCall(WriteAll(journal_fd, &h, sizeof(h), journal));
  PetscCall(MoeSyncDirectory(journal));
  PetscFunctionReturn(0);
}

/* Append the results of tasks ids[0..n) to PATH.journal and sync it. */
PetscErrorCode MoeJournalAppend(const MoeResults *R, const char path[], const PetscInt64 ids[], PetscInt64 n)
{
  const MoeGrid *G = R->grid;
  PetscInt       L = G->spec->nlosses;
  size_t         esize = EntrySize(G);
  char           journal[PETSC_MAX_PATH_LEN + 16], *buf, *e;

  PetscFunctionBegin;
  if (n <= 0) PetscFunctionReturn(0);
  PetscCall(MoeJournalPath(path, journal, sizeof(journal)));
  if (journal_fd < 0) PetscCall(JournalOpen(R, journal));
  PetscCall(PetscMalloc1(esize * (size_t)n, &buf));
  for (PetscInt64 i = 0; i < n; i++) {
    PetscInt64 id = ids[i];
    uLong      crc;
    uint32_t   c;
    e = buf + esize * (size_t)i;
    memcpy(e, &R->records[id], sizeof(MoeRecord));
    memcpy(e + sizeof(MoeRecord), R->losses + id * L, sizeof(PetscReal) * L);
    memcpy(e + sizeof(MoeRecord) + sizeof(PetscReal) * L, R->theta + id * G->pmax, sizeof(PetscReal) * G->pmax);
    crc = crc32(0L, (const Bytef *)e, (uInt)(esize - sizeof(uint32_t)));
    c   = (uint32_t)crc;
    memcpy(e + esize - sizeof(uint32_t), &c, sizeof(c));
  }
  PetscCall(WriteAll(journal_fd, buf, esize * (size_t)n, journal));
  PetscCall(PetscFree(buf));
  PetscCheck(fdatasync(journal_fd) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s to disk (fdatasync: %s): fix the disk, then rerun the same command to resume", journal, strerror(errno));
  PetscFunctionReturn(0);
}

/* After a whole write: every journalled result is inside PATH now. */
PetscErrorCode MoeJournalRemove(const char path[])
{
  char journal[PETSC_MAX_PATH_LEN + 16];

  PetscFunctionBegin;
  PetscCall(MoeJournalPath(path, journal, sizeof(journal)));
  if (journal_fd >= 0) close(journal_fd);
  journal_fd = -1;
  if (unlink(journal) && errno != ENOENT) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "moerate: warning: cannot remove %s (%s); its results are in %s already\n", journal, strerror(errno), path));
  PetscFunctionReturn(0);
}

/* A journal that extends no file here: kept as PATH.journal.bak-<time>, never replayed (an
   error when it cannot be moved: the next whole write would remove it). */
static PetscErrorCode KeepAside(const char journal[], const char why[])
{
  char      stem[PETSC_MAX_PATH_LEN + 48], bak[PETSC_MAX_PATH_LEN + 64];
  PetscBool moved;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(stem, sizeof(stem), "%s.bak-%ld", journal, (long)time(NULL)));
  PetscCall(MoeRenameAside("-output's journal", journal, stem, bak, sizeof(bak), &moved));
  if (moved) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "moerate: warning: %s %s: kept as %s, not replayed\n", journal, why, bak));
  PetscFunctionReturn(0);
}

/* Read PATH.journal's entries into R, when it extends the whole write R was read from.
   Entries up to the first torn or damaged one are taken; the tasks after it run again.  *merged counts
   the tasks the journal finished (a task's later entry replaces its earlier one). */
/* The journal opened for reading without following a link and without blocking (a FIFO there would hang
   fopen), or *f NULL when there is none; one line and exit 2 when it is not a regular file or cannot be read. */
static PetscErrorCode OpenJournal(const char path[], const char journal[], FILE **f)
{
  struct stat st;
  int         fd;

  PetscFunctionBegin;
  *f = NULL;
  fd = open(journal, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) PetscFunctionReturn(0);
  MoeUserCheck(fd >= 0, "-output %s: its journal %s cannot be read (%s): make it a readable file (its results are not in the results file yet), then rerun", path, journal, strerror(errno));
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    MoeUserError("-output %s: its journal %s is not a regular file (a FIFO, device, directory or link): remove it, then rerun", path, journal);
  }
  *f = fdopen(fd, "rb");
  MoeUserCheck(*f, "-output %s: its journal %s cannot be read (%s)", path, journal, strerror(errno));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeJournalReplay(MoeResults *R, const char path[], PetscInt64 *merged)
{
  const MoeGrid   *G = R->grid;
  PetscInt         L = G->spec->nlosses;
  size_t           esize = EntrySize(G);
  char             journal[PETSC_MAX_PATH_LEN + 16], *e = NULL;
  MoeJournalHeader h;
  FILE            *f;
  PetscInt64       taken = 0, bad = -1; /* entries taken; the index of the first torn or damaged one */
  PetscBool        last = PETSC_FALSE;

  PetscFunctionBegin;
  *merged = 0;
  PetscCall(MoeJournalPath(path, journal, sizeof(journal)));
  PetscCall(OpenJournal(path, journal, &f));
  if (!f) PetscFunctionReturn(0);
  if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, MOE_JOURNAL_MAGIC, sizeof(h.magic))) {
    fclose(f);
    PetscCall(KeepAside(journal, "is not a moerate journal (or its header is torn)"));
    PetscFunctionReturn(0);
  }
  h.token[sizeof(h.token) - 1] = h.spec_hash[sizeof(h.spec_hash) - 1] = 0;
  if (R->previous_token[0] && !strcmp(h.token, R->previous_token)) { /* merged by the last whole write */
    fclose(f);
    unlink(journal);
    PetscFunctionReturn(0);
  }
  if (!R->token[0]) {
    fclose(f);
    PetscCall(KeepAside(journal, "extends no readable results file here"));
    PetscFunctionReturn(0);
  }
  if (strcmp(h.token, R->token) || h.record_bytes != sizeof(MoeRecord) || h.nlosses != (uint32_t)L || h.pmax != (uint32_t)G->pmax || strcmp(h.spec_hash, G->spec->hash)) {
    fclose(f);
    PetscCall(KeepAside(journal, "extends another version of the results file"));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc1(esize, &e));
  while (1) {
    size_t    got = fread(e, 1, esize, f);
    uint32_t  c;
    MoeRecord r;
    if (got == 0) break;
    memcpy(&c, e + esize - sizeof(uint32_t), sizeof(c));
    memcpy(&r, e, sizeof(r));
    if (got < esize || (uint32_t)crc32(0L, (const Bytef *)e, (uInt)(esize - sizeof(uint32_t))) != c || !MoeRecordIsTask(G, &r) || r.status <= MOE_FIT_PENDING || r.status > MOE_FIT_SKIPPED) {
      bad  = taken; /* torn by a kill during an append (the last entry), or damaged: stop here */
      last = (PetscBool)(got < esize || fgetc(f) == EOF);
      break;
    }
    if (R->records[r.id].status == MOE_FIT_PENDING) (*merged)++;
    R->records[r.id] = r;
    PetscCall(PetscArraycpy(R->losses + r.id * L, (PetscReal *)(e + sizeof(MoeRecord)), L));
    PetscCall(PetscArraycpy(R->theta + r.id * G->pmax, (PetscReal *)(e + sizeof(MoeRecord)) + L, G->pmax));
    taken++;
  }
  fclose(f);
  PetscCall(PetscFree(e));
  if (bad >= 0 && last) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "moerate: %s: its last entry is torn (a kill during an append?): %lld results taken before it, the rest run again\n", journal, (long long)*merged));
  else if (bad >= 0) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "moerate: %s: entry %lld is damaged (its checksum or fields are wrong): %lld results taken before it; it and the entries after it run again\n", journal, (long long)bad + 1, (long long)*merged));
  PetscFunctionReturn(0);
}
