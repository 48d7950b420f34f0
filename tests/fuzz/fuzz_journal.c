/* fuzz_journal: replaying PATH.journal into the results read from PATH (src/store/journal.c
   MoeJournalReplay, as MoeResultsLoad calls it on resume): the header's magic, token, sizes and spec
   hash, then each entry's CRC-32, record fields, task id and status.
   The input's first byte is flags; the rest is the journal's content, written next to the results file
   (results_setup.h) before each replay, with R reset to the file's contents:
     bit 0: recompute the CRC-32 of every whole entry (lets the fuzzer reach the record checks, which a
            random CRC hides);
     bit 1: prepend the valid header of this file (token FZ_TOKEN and the spec's hash), so the input is
            only entries.
   MOE_FUZZ_WRITE_SEEDS=DIR: write seed journals made by moerate's own MoeJournalAppend into DIR, exit. */
#include "results_setup.h"
#include <zlib.h>

static char   path[300], journal[320];
static size_t esize;
static uint8_t header[72];

static void WriteSeeds(const char dir[])
{
  PetscInt64 ids[8], n = 0;
  char       seed[512];
  FILE      *f;
  size_t     len;
  uint8_t   *buf;

  for (PetscInt64 i = 1; i < fz_grid->ntasks && n < 8; i += 2) { /* pending tasks, given a result */
    fz_R->records[i].status     = i % 4 == 1 ? 1 : 2;
    fz_R->records[i].iterations = 3;
    ids[n++]                    = i;
  }
  snprintf(seed, sizeof(seed), "%s/results.h5", fz_dir);
  if (MoeJournalAppend(fz_R, seed, ids, n) || MoeJournalRemove("/nonexistent/x")) abort();
  snprintf(journal, sizeof(journal), "%s/results.h5.journal", fz_dir);
  f = fopen(journal, "rb");
  fseek(f, 0, SEEK_END);
  len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(len + 1);
  if (fread(buf, 1, len, f) != len) abort();
  fclose(f);
  /* flags 0: the journal as written; 1: CRCs recomputed; 2/3: entries only (header prepended) */
  for (int flags = 0; flags < 4; flags++) {
    const uint8_t *body = flags & 2 ? buf + 72 : buf;
    size_t         blen = flags & 2 ? len - 72 : len;
    snprintf(seed, sizeof(seed), "%s/journal_flags%d", dir, flags);
    f = fopen(seed, "wb");
    fputc(flags, f);
    fwrite(body, 1, blen, f);
    fclose(f);
  }
  snprintf(seed, sizeof(seed), "%s/journal_torn", dir); /* the last entry torn */
  f = fopen(seed, "wb");
  fputc(0, f);
  fwrite(buf, 1, len - esize / 2, f);
  fclose(f);
  snprintf(seed, sizeof(seed), "%s/journal_one_entry", dir);
  f = fopen(seed, "wb");
  fputc(3, f);
  fwrite(buf + 72, 1, esize, f);
  fclose(f);
  snprintf(seed, sizeof(seed), "%s/journal_header_only", dir);
  f = fopen(seed, "wb");
  fputc(0, f);
  fwrite(buf, 1, 72, f);
  fclose(f);
  free(buf);
  exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  FzInit(argc, argv);
  FzResultsSetUp();
  snprintf(path, sizeof(path), "%s/results.h5", fz_dir);
  snprintf(journal, sizeof(journal), "%s.journal", path);
  esize = sizeof(MoeRecord) + sizeof(PetscReal) * (size_t)(fz_spec->nlosses + fz_grid->pmax) + sizeof(uint32_t);
  memcpy(header, "MOEJRNL1", 8);
  {
    uint32_t v[4] = {(uint32_t)sizeof(MoeRecord), (uint32_t)fz_spec->nlosses, (uint32_t)fz_grid->pmax, 0};
    memcpy(header + 8, v, sizeof(v));
  }
  memcpy(header + 24, FZ_TOKEN, strlen(FZ_TOKEN) + 1);
  memcpy(header + 48, fz_spec->hash, strlen(fz_spec->hash) + 1);
  if (getenv("MOE_FUZZ_WRITE_SEEDS")) WriteSeeds(getenv("MOE_FUZZ_WRITE_SEEDS"));
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t    flags = size ? data[0] : 0, *buf;
  size_t     hlen  = flags & 2 ? sizeof(header) : 0, len;
  PetscInt64 merged;

  if (size > 1 << 20) return -1;
  len = hlen + (size ? size - 1 : 0);
  buf = malloc(len + 1);
  memcpy(buf, header, hlen);
  if (size) memcpy(buf + hlen, data + 1, size - 1);
  if (flags & 1)
    for (size_t at = 72; at + esize <= len; at += esize) {
      uint32_t c = (uint32_t)crc32(0L, buf + at, (uInt)(esize - sizeof(uint32_t)));
      memcpy(buf + at + esize - sizeof(uint32_t), &c, sizeof(c));
    }
  FzIterBegin();
  FzQuiet(1);
  FzResultsReset(0);
  if (FzWriteFile(journal, buf, len)) abort();
  if (!FzSays("MoeJournalReplay", MoeJournalReplay(fz_R, path, &merged)) && !fz_quiet) fprintf(stderr, "fuzz: merged %lld\n", (long long)merged);
  FzQuiet(0);
  FzIterEnd();
  FzClearDir();
  free(buf);
  return 0;
}
