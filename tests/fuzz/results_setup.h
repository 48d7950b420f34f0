/* A small valid results file for fuzz_results_resume and fuzz_journal, made in-process by moerate's own
   writer (so it always has the current format and the spec's hash): the spec RESULTS_SPEC (2 gatings x 1
   expert, 2 sample sizes, 2 replicates, 3 losses), its grid, the screened truth (MoeTruthSelect), then
   MoeResultsCreate, half of the tasks given a fake converged result, one session, MoeResultsWrite.  Its
   journal tokens are then set to fixed values (FZ_TOKEN, FZ_PREV_TOKEN) so that seed journals written in
   one process match the file of another. */
#ifndef MOE_FUZZ_RESULTS_SETUP_H
#define MOE_FUZZ_RESULTS_SETUP_H

#include "fuzz_common.h"
#include <moerun.h>

#define RESULTS_SPEC  "-gating softmax,sigmoid -expert relu -k 3 -kstar 2 -d 2 -n 200,400 -replicates 2 -losses l2,cells_exact,cells_over -allow_ill_posed -eval_n 100 -reference_n 1000"
#define FZ_TOKEN      "00000000000000aa"
#define FZ_PREV_TOKEN "00000000000000bb"

static MoeSpec    *fz_spec;
static MoeGrid    *fz_grid;
static MoeResults *fz_R;
static char        fz_template[300];
static void       *fz_template_bytes;
static size_t      fz_template_size;
/* R as read back from the template: what each input starts from */
static MoeRecord  *fz_records0;
static PetscReal  *fz_losses0, *fz_theta0;

#define CHK(call) \
  do { \
    if (call) { \
      fprintf(stderr, "fuzz: set-up failed: %s\n", #call); \
      abort(); \
    } \
  } while (0)

static void FzResultsSetUp(void)
{
  PetscOptions o;
  MoeTruth    *truths[MOE_MAX_LIST] = {NULL};
  PetscInt     L;
  FILE        *f;
  hid_t        file;

  CHK(PetscOptionsCreate(&o));
  CHK(PetscOptionsInsertString(o, RESULTS_SPEC));
  CHK(PetscOptionsPush(o));
  CHK(MoeSpecCreate(PETSC_COMM_SELF, NULL, PETSC_TRUE, NULL, &fz_spec));
  CHK(MoeTruthSelect(fz_spec, truths));
  CHK(MoeGridCreate(fz_spec, &fz_grid));
  CHK(MoeResultsCreate(fz_grid, truths, &fz_R));
  CHK(PetscOptionsPop()); /* the spec keeps o (spec->opts is NULL: the default database, o while pushed) */
  L = fz_spec->nlosses;
  for (PetscInt64 i = 0; i < fz_grid->ntasks; i += 2) {
    MoeRecord *r  = &fz_R->records[i];
    r->status     = 1; /* converged */
    r->iterations = 7;
    r->certified  = 1;
    r->objective  = 0.01 * (double)(i + 1);
    for (PetscInt j = 0; j < L; j++) fz_R->losses[i * L + j] = 0.1 * (double)(j + 1);
    for (PetscInt j = 0; j < fz_grid->pairs[fz_grid->tasks[i].pair].p; j++) fz_R->theta[i * fz_grid->pmax + j] = 0.5;
  }
  CHK(PetscCalloc1(2, &fz_R->sessions));
  fz_R->nsessions              = 1;
  fz_R->sessions[0].start      = 1.7e9;
  fz_R->sessions[0].end        = 1.7e9 + 60;
  fz_R->sessions[0].ranks      = 3;
  fz_R->sessions[0].exit_status = 0;
  snprintf(fz_R->sessions[0].host, sizeof(fz_R->sessions[0].host), "fuzzhost");
  snprintf(fz_template, sizeof(fz_template), "%s/template.h5", fz_dir);
  CHK(MoeResultsWrite(fz_R, fz_template, "moerate run (fuzz template)", PETSC_FALSE, 1.7e9, 0));
  file = H5Fopen(fz_template, H5F_ACC_RDWR, H5P_DEFAULT);
  CHK(file < 0);
  CHK(MoeH5AttrWriteString(file, "journal_token", FZ_TOKEN));
  CHK(MoeH5AttrWriteString(file, "previous_journal_token", FZ_PREV_TOKEN));
  CHK(MoeH5CloseFile(file) < 0);
  f = fopen(fz_template, "rb");
  CHK(!f);
  fseek(f, 0, SEEK_END);
  fz_template_size  = (size_t)ftell(f);
  fz_template_bytes = malloc(fz_template_size);
  fseek(f, 0, SEEK_SET);
  CHK(fread(fz_template_bytes, 1, fz_template_size, f) != fz_template_size);
  fclose(f);
  /* the state a resume starts from, as the template reads back */
  {
    PetscBool found;
    CHK(MoeResultsCheckExisting(fz_spec, fz_template, PETSC_FALSE));
    CHK(MoeResultsLoad(fz_R, fz_template, PETSC_FALSE, PETSC_FALSE, &found));
    CHK(!found || strcmp(fz_R->token, FZ_TOKEN));
  }
  fz_records0 = malloc(sizeof(MoeRecord) * fz_grid->ntasks);
  fz_losses0  = malloc(sizeof(PetscReal) * fz_grid->ntasks * L);
  fz_theta0   = malloc(sizeof(PetscReal) * fz_grid->ntasks * fz_grid->pmax);
  memcpy(fz_records0, fz_R->records, sizeof(MoeRecord) * fz_grid->ntasks);
  memcpy(fz_losses0, fz_R->losses, sizeof(PetscReal) * fz_grid->ntasks * L);
  memcpy(fz_theta0, fz_R->theta, sizeof(PetscReal) * fz_grid->ntasks * fz_grid->pmax);
  unlink(fz_template);
}

/* R back to the template's state (fresh: pending, as MoeResultsCreate leaves it, when fresh). */
static void FzResultsReset(int fresh)
{
  PetscInt L = fz_spec->nlosses;
  for (PetscInt64 i = 0; i < fz_grid->ntasks; i++) MoeRecordInit(fz_grid, i, &fz_R->records[i]);
  if (!fresh) {
    memcpy(fz_R->records, fz_records0, sizeof(MoeRecord) * fz_grid->ntasks);
    memcpy(fz_R->losses, fz_losses0, sizeof(PetscReal) * fz_grid->ntasks * L);
    memcpy(fz_R->theta, fz_theta0, sizeof(PetscReal) * fz_grid->ntasks * fz_grid->pmax);
    snprintf(fz_R->token, sizeof(fz_R->token), "%s", FZ_TOKEN);
    snprintf(fz_R->previous_token, sizeof(fz_R->previous_token), "%s", FZ_PREV_TOKEN);
  } else {
    for (PetscInt64 i = 0; i < fz_grid->ntasks * L; i++) fz_R->losses[i] = NAN;
    for (PetscInt64 i = 0; i < fz_grid->ntasks * fz_grid->pmax; i++) fz_R->theta[i] = NAN;
    fz_R->token[0] = fz_R->previous_token[0] = 0;
  }
  fz_R->done = fz_R->failed = 0;
}

#endif
