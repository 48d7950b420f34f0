/* fuzz_results_resume: resuming an existing results file, as `moerate run -output PATH` does on rank 0
   (src/cmd/run.c PrepareOutput): MoeResultsCheckExisting (kind, format_version, spec_hash, git_revision
   of the file against the spec) and then MoeResultsLoad (the shapes and types of /tasks/records,
   /tasks/losses, /tasks/theta, /sessions against the grid, the journal tokens, every record against the
   task grid).
   Each input edits a copy of a valid results file (results_setup.h) with a recipe (recipe.h): its first
   byte chooses -force (bit 0) and -retry_failed (bit 1); op 7 (RECORDS) rewrites /tasks/records with a
   record type whose fields are dropped, retyped, renamed or moved, a record count from the dims table,
   and chosen fields of chosen records set to chosen values. */
#include "recipe.h"
#include "results_setup.h"
#include <moe/private/storeimpl.h>

static char path[300];

/* op 7: RECORDS  nedits (edit: field action arg...)* dims-choice */
static void RecordsOp(FzReader *r, hid_t file)
{
  const MoeRecordField *f;
  PetscInt              nf;
  int                   nedits = FzU8(r) % 6, drop[64] = {0}, retype[64], rename[64] = {0};
  size_t                offset[64], size;
  hsize_t               dims[1] = {(hsize_t)fz_grid->ntasks}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {16};
  MoeRecord            *recs = malloc(sizeof(MoeRecord) * fz_grid->ntasks);
  hid_t                 ft, mt, space, dcpl, d;
  uint8_t               pack;

  MoeRecordFields(&nf, &f);
  memcpy(recs, fz_records0, sizeof(MoeRecord) * fz_grid->ntasks);
  for (int j = 0; j < nf; j++) retype[j] = -1, offset[j] = f[j].offset;
  for (int e = 0; e < nedits; e++) {
    int     j   = FzU8(r) % nf;
    uint8_t act = FzU8(r) % 5;
    if (act == 0) drop[j] = 1;
    else if (act == 1) retype[j] = FzU8(r) % 7;
    else if (act == 2) rename[j] = 1;
    else if (act == 3) offset[j] += 4;
    else { /* a value of one record's field */
      int64_t v   = FzInt(r);
      int64_t row = FzU8(r) % fz_grid->ntasks;
      char   *p   = (char *)&recs[row] + f[j].offset;
      if (f[j].kind == MOE_FIELD_INT32) *(int32_t *)p = (int32_t)v;
      else if (f[j].kind == MOE_FIELD_DOUBLE) *(double *)p = (double)v;
      else *(int64_t *)p = v;
    }
  }
  pack = FzU8(r);
  size = sizeof(MoeRecord) + 8 * (pack % 3);
  ft   = H5Tcreate(H5T_COMPOUND, size); /* a moved field past the end is not inserted */
  for (int j = 0, packed = 0; j < nf; j++) {
    static const hid_t *kinds[4] = {&H5T_STD_I32LE_g, &H5T_STD_I64LE_g, &H5T_STD_U64LE_g, &H5T_IEEE_F64LE_g};
    hid_t               t;
    if (drop[j]) continue;
    switch (retype[j]) {
    case -1: t = H5Tcopy(*kinds[f[j].kind]); break;
    case 0: t = H5Tcopy(H5T_STD_I32LE); break;
    case 1: t = H5Tcopy(H5T_STD_I64LE); break;
    case 2: t = H5Tcopy(H5T_STD_U64LE); break;
    case 3: t = H5Tcopy(H5T_IEEE_F64LE); break;
    case 4: t = H5Tcopy(H5T_IEEE_F32LE); break;
    case 5: t = H5Tcopy(H5T_STD_I16BE); break;
    default:
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, 8);
      break;
    }
    if (pack & 4) { /* fields packed in order: later offsets move */
      offset[j] = (size_t)packed;
      packed += (int)H5Tget_size(t);
    }
    H5Tinsert(ft, rename[j] ? "renamed" : f[j].name, offset[j], t);
    H5Tclose(t);
  }
  if (pack & 8) dims[0] = FzDim(r);
  space = H5Screate_simple(1, dims, maxdims);
  dcpl  = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, chunk);
  if (pack & 16) H5Pset_fletcher32(dcpl);
  H5Ldelete(file, "/tasks/records", H5P_DEFAULT);
  d = H5Dcreate2(file, "/tasks/records", ft, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d >= 0) {
    if (dims[0] == (hsize_t)fz_grid->ntasks) {
      mt = MoeStoreRecordType();
      H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, recs);
      H5Tclose(mt);
    }
    H5Dclose(d);
  }
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(ft);
  free(recs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  const char *mine;
  FzInit(argc, argv);
  FzResultsSetUp();
  snprintf(path, sizeof(path), "%s/results.h5", fz_dir);
  fz_special_dims[0] = (hsize_t)fz_grid->ntasks;
  fz_special_dims[1] = (hsize_t)fz_spec->nlosses;
  fz_special_dims[2] = (hsize_t)fz_grid->pmax;
  fz_special_dims[3] = (hsize_t)1 << 20 | 1;
  fz_extra[0]        = fz_spec->hash;
  fz_extra[1]        = FZ_TOKEN;
  if (!MoeGitRevision(&mine)) fz_extra[2] = mine;
  fz_extra[3]   = FZ_PREV_TOKEN;
  fz_records_op = RecordsOp;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  FzReader  r     = {data, size, 0};
  uint8_t   flags = FzU8(&r);
  PetscBool force = (PetscBool)(flags & 1), retry = (PetscBool)((flags >> 1) & 1), found;
  hid_t     file;

  FzIterBegin();
  FzQuiet(1);
  FzResultsReset(1);
  if (FzWriteFile(path, fz_template_bytes, fz_template_size)) abort();
  file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) abort();
  FzRunRecipe(&r, file, 0);
  if (MoeH5CloseFile(file) < 0) abort();
  if (!FzSays("MoeResultsCheckExisting", MoeResultsCheckExisting(fz_spec, path, force))) FzSays("MoeResultsLoad", MoeResultsLoad(fz_R, path, retry, force, &found));
  PetscFree(fz_R->sessions); /* R's own, allocated by the read: not a leak */
  fz_R->nsessions = 0;
  FzQuiet(0);
  FzIterEnd();
  FzClearDir();
  return 0;
}
