/* fuzz_truth_h5: moerate's reader of HDF5 truth files (src/store/truth.c ReadHDF5, then MoeTruthCreate).
   The input is a recipe (recipe.h): its first byte chooses the file's format bounds (earliest or 1.8+,
   which allows dense attribute storage), the rest builds the file with the HDF5 C API.  The reader never
   sees bytes that are not a well-formed HDF5 file, so what is fuzzed is moerate's handling of what such
   a file may hold, not libhdf5's parser. */
#include "recipe.h"
#include "truth_use.h"

static char path[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  FzInit(argc, argv);
  snprintf(path, sizeof(path), "%s/truth.h5", fz_dir);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  FzReader r     = {data, size, 0};
  uint8_t  flags = FzU8(&r);
  hid_t    fapl  = H5Pcreate(H5P_FILE_ACCESS), file;
  int      dense = flags & 1;

  FzIterBegin();
  FzQuiet(1);
  if (dense) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (file < 0) abort();
  FzRunRecipe(&r, file, dense);
  if (MoeH5CloseFile(file) < 0) abort();
  FzUseTruthFile(path);
  FzQuiet(0);
  FzIterEnd();
  FzClearDir();
  return 0;
}
