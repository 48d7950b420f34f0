/* fuzz_spec_options: the experiment spec read from the options database (src/spec/: MoeSpecCreate reads
   every section and calls MoeSpecValidate, then builds the canonical text and hash), for `moerate run`,
   as src/cmd/run.c does: MoeStoreReadTruthFile, then MoeSpecCreate, then MoeSpecDestroy.
   The input's first byte chooses how the rest is inserted into a fresh options database, pushed as the
   default one: even, PetscOptionsInsertString (command-line form, "-gating softmax -k 3 ..."); odd,
   PetscOptionsInsertStringYAML (a spec file's form, jobs/specs/ *.yaml).
   Inputs naming an options file (-options_file, -options_file_yaml, options_string...) are skipped (return -1):
   PETSc would read any file the fuzzer names.  A -truth_file is replaced by a copy in the harness's
   directory: of jobs/specs/truths/<its base name> when there is one (the specs' own truths), else an
   HDF5 truth written by moerate itself when the name holds ".h5", else a YAML truth (P3's top-1). */
#include "truth_use.h"
#include <ctype.h>

static char yaml_truth[300], h5_truth[300];

static const char truth_yaml_text[] = "model: gaussian\ngating: topk\nexpert: linear\nkstar: 2\nd: 1\ntopk_K: 1\ntopk_rank_affine: 1\ntheta: [25, -8, -20, 15, 0.3,\n        0, 0, 20, -5, 0.4]\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  FzInit(argc, argv);
  snprintf(yaml_truth, sizeof(yaml_truth), "%s/keep-truth.yaml", fz_dir);
  snprintf(h5_truth, sizeof(h5_truth), "%s/keep-truth.h5", fz_dir);
  if (FzWriteFile(yaml_truth, truth_yaml_text, strlen(truth_yaml_text))) abort();
  { /* the specs' own truths, when the source tree is there */
    char           dir[512], from[1024], to[1024], buf[65536];
    DIR           *d;
    struct dirent *e;
    snprintf(dir, sizeof(dir), "%s../jobs/specs/truths", MOE_FUZZ_SRC);
    if ((d = opendir(dir))) {
      while ((e = readdir(d))) {
        FILE  *f;
        size_t n;
        if (e->d_name[0] == '.') continue;
        snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
        snprintf(to, sizeof(to), "%s/keep-%s", fz_dir, e->d_name);
        if (!(f = fopen(from, "rb"))) continue;
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        FzWriteFile(to, buf, n);
      }
      closedir(d);
    }
  }
  { /* an HDF5 truth as moerate writes it (MoeStoreWriteTruth of a drawn softmax x relu truth) */
    PetscOptions o;
    MoeSpec     *spec;
    MoeTruth    *t;
    hid_t        file;
    if (PetscOptionsCreate(&o) || PetscOptionsInsertString(o, "-gating softmax -expert relu -k 3 -kstar 2 -d 2 -n 1000") || PetscOptionsPush(o)) abort();
    if (MoeSpecCreate(PETSC_COMM_SELF, NULL, PETSC_TRUE, NULL, &spec) || MoeTruthCreate(spec, 0, &t)) abort();
    file = H5Fcreate(h5_truth, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0 || MoeStoreWriteTruth(file, t) || MoeH5CloseFile(file) < 0) abort();
    MoeTruthDestroy(&t);
    MoeSpecDestroy(&spec);
    PetscOptionsPop();
    PetscOptionsDestroy(&o);
  }
  return 0;
}

/* Does text name an option that makes PETSc read a file? (option names are case-insensitive) */
static int NamesAFile(const char *text)
{
  static const char *bad[] = {"options_file", "options_string", NULL};
  size_t             n     = strlen(text);
  char              *low   = malloc(n + 1);
  int                found = 0;
  for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)text[i]);
  for (const char **b = bad; *b && !found; b++) found = strstr(low, *b) != NULL;
  free(low);
  return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char        *text;
  PetscOptions o;
  PetscBool    set;
  char         tfile[PETSC_MAX_PATH_LEN];
  int          yaml;

  if (size < 1 || size > 16384) return -1;
  text = malloc(size);
  memcpy(text, data + 1, size - 1);
  text[size - 1] = 0;
  yaml           = data[0] & 1;
  if (NamesAFile(text)) {
    free(text);
    return -1;
  }
  FzIterBegin();
  FzQuiet(1);
  if (PetscOptionsCreate(&o)) abort();
  if (!(yaml ? PetscOptionsInsertStringYAML(o, text) : PetscOptionsInsertString(o, text))) {
    if (!PetscOptionsGetString(o, NULL, "-truth_file", tfile, sizeof(tfile), &set) && set) {
      const char *base = strrchr(tfile, '/') ? strrchr(tfile, '/') + 1 : tfile;
      char        known[600];
      snprintf(known, sizeof(known), "%s/keep-%s", fz_dir, base);
      PetscOptionsSetValue(o, "-truth_file", base[0] && access(known, R_OK) == 0 ? known : strstr(tfile, ".h5") ? h5_truth : yaml_truth);
    }
    if (!PetscOptionsPush(o)) {
      MoeTruthFile *tf   = NULL;
      MoeSpec      *spec = NULL;
      if (!FzSays("MoeStoreReadTruthFile", MoeStoreReadTruthFile(PETSC_COMM_SELF, &tf)) && !FzSays("MoeSpecCreate", MoeSpecCreate(PETSC_COMM_SELF, NULL, PETSC_TRUE, tf, &spec))) MoeSpecDestroy(&spec);
      /* on an error, tf and the half-made spec are left to the reclaimer, as moerate leaves them to exit */
      PetscOptionsPop();
    }
  }
  PetscOptionsDestroy(&o);
  FzQuiet(0);
  FzIterEnd();
  free(text);
  return 0;
}
