/* fuzz_truth_yaml: moerate's reader of YAML truth files (src/store/truth.c ReadYAML: its key check, then
   PETSc's YAML options parser, the sizes, the theta list and the gating options; then MoeTruthCreate).
   The input is the file's content, written to PATH.yaml in the harness's temporary directory. */
#include "truth_use.h"

static char path[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  FzInit(argc, argv);
  snprintf(path, sizeof(path), "%s/truth.yaml", fz_dir);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 65536) return -1; /* a truth file is small; longer inputs only slow the fuzzer */
  FzIterBegin();
  FzQuiet(1);
  if (FzWriteFile(path, data, size)) abort();
  FzUseTruthFile(path);
  FzQuiet(0);
  FzIterEnd();
  FzClearDir();
  return 0;
}
