/* Recipes: fuzz bytes read as a small program that builds (or edits) an HDF5 file with the HDF5 C API, so
   that the fuzzer explores what moerate's readers see in a well-formed HDF5 file (attributes holding
   arrays or the wrong types, datasets of other shapes, ranks and types, missing or extra objects, huge
   declared dimensions) rather than libhdf5's own parser.  The format is in tests/fuzz/README.md:

     recipe := op* ; each op starts with one byte, op = byte % 9
       0 GROUP     path                              create a group (and its parents)
       1 ATTR      obj name type space value         create (or replace) an attribute
       2 DSET      path type space value layout      create (or replace) a dataset
       3 DELATTR   obj name                          delete an attribute
       4 DELLINK   path                              delete a link
       5 SOFTLINK  path target                       a soft link path -> target (may dangle)
       6 HARDLINK  path target                       a hard link path -> target (cycles allowed)
       7 RECORDS   ...                               rewrite /tasks/records (fuzz_results_resume only)
       8 END
     path, obj, target: one byte, an index into fz_paths (mod its size)
     name: one byte < 0xF0: an index into fz_names; else a length-prefixed raw name
     type: one byte, see FzType; space: one byte (+ dims), see FzSpace
     value: one byte mode (0 integers, 1 reals, 2 strings, 3 raw bytes) then per element what it needs
   Nothing is allocated in proportion to a declared size: a dataset of more than FZ_MAX_WRITE elements (or
   with a huge dimension such as 2^59) is made chunked with unlimited maximum dimensions and never
   written, so it costs nothing and reads back as fill values. */
#ifndef MOE_FUZZ_RECIPE_H
#define MOE_FUZZ_RECIPE_H

#include "fuzz_common.h"
#include <math.h>

#define FZ_MAX_WRITE 4096

static const char *fz_paths[] = {
  "/", "/truth", "/truth/relu", "/truth/linear", "/truth/sigmoid", "/truth/relu/theta", "/truth/linear/theta", "/truth/sigmoid/theta", "/tasks", "/tasks/records", "/tasks/losses", "/tasks/theta", "/sessions", "/grid", "/models", "/truth/x", "/truth/gelu",
  "/truth/relu/x", "/truth/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "/grid/n", "/truth/tanh", "/truth/softplus", "/truth/constant", "/models/x",
};
#define FZ_NPATHS ((int)(sizeof(fz_paths) / sizeof(fz_paths[0])))

static const char *fz_names[] = {
  "gating", "expert", "kstar", "d", "gating_options", "model", "theta", "kind", "format_version", "spec_hash", "journal_token", "previous_journal_token", "git_revision", "units", "meaning", "status", "tasks_total", "tasks_done", "k", "replicates", "ranks",
};
#define FZ_NNAMES ((int)(sizeof(fz_names) / sizeof(fz_names[0])))

/* strings values are drawn from; fz_extra[] are set by a harness (the template's spec hash, token...) */
static const char *fz_extra[4] = {"", "", "", ""};
static char        fz_long[2100];
static const char *fz_strings[] = {
  "", "softmax", "sigmoid", "topk", "dts", "hsoftmax", "relu", "linear", "gelu", "tanh", "softplus", "constant", "regression", "gaussian", "moerate run", "-topk_K 2", "-topk_K 1 -topk_rank_affine 1", "-model gaussian", "-options_file /etc/hostname", "-topk_K", "-topk_K -1", "-dts_tau 0.5", "-hsoftmax_groups 2", "-model", "-topk_K 1e400", "0123456789abcdef", "complete", "incomplete", "softmax\xff\xfe", "-topk_K 2 -topk_K 3",
};
#define FZ_NSTRINGS ((int)(sizeof(fz_strings) / sizeof(fz_strings[0])))

static const int64_t fz_ints[] = {0, 1, 2, 3, 4, -1, 1024, 1025, 4096, 4097, INT64_MAX, INT64_MIN, (1LL << 32) + 2, 1 << 20, 64, 65, 5, 8, -2147483648LL, 2147483647LL};
#define FZ_NINTS ((int)(sizeof(fz_ints) / sizeof(fz_ints[0])))

static const double fz_reals[] = {0, 1, -1, 0.3, 25, -8, 20, 15, -20, -5, 0.4, 1e308, -0.0, 5e-324, 2, 0.5};
#define FZ_NREALS ((int)(sizeof(fz_reals) / sizeof(fz_reals[0])))

/* dims a harness may name (the grid's ntasks, nlosses, pmax) */
static hsize_t fz_special_dims[4] = {1, 1, 1, 1};

static const char *FzString(FzReader *r, char *raw, size_t cap)
{
  uint8_t b = FzU8(r);
  if (b < 0xE0) {
    int i = b % (FZ_NSTRINGS + 5);
    if (i < FZ_NSTRINGS) return fz_strings[i];
    if (i == FZ_NSTRINGS) {
      if (!fz_long[0]) memset(fz_long, 'x', sizeof(fz_long) - 1);
      return fz_long;
    }
    return fz_extra[(i - FZ_NSTRINGS - 1) & 3];
  }
  size_t n = FzBytes(r, raw, cap - 1);
  raw[n]   = 0;
  return raw;
}

static int64_t FzInt(FzReader *r)
{
  uint8_t b = FzU8(r);
  if (b < 0xF0) return fz_ints[b % FZ_NINTS];
  return (int64_t)FzU64(r);
}

static double FzReal(FzReader *r)
{
  uint8_t b = FzU8(r);
  if (b < 0xE0) return fz_reals[b % FZ_NREALS];
  if (b == 0xE0) return NAN;
  if (b == 0xE1) return INFINITY;
  if (b == 0xE2) return -INFINITY;
  if (b < 0xF0) return (double)FzInt(r);
  uint64_t u = FzU64(r);
  double   x;
  memcpy(&x, &u, sizeof(x));
  return x;
}

/* Which file types a recipe can give: returns a new datatype id; *kind: 0 number, 1 vlen string, 2 fixed
   string, 3 vlen sequence, 4 other fixed-size (compound, array, enum, opaque, bitfield). */
static hid_t FzType(FzReader *r, int *kind)
{
  uint8_t b = FzU8(r) % 24;
  hid_t   t = -1;
  *kind     = 0;
  switch (b) {
  case 0:
  case 1:
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, b == 0 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    *kind = 1;
    break;
  case 2:
  case 3:
  case 4:
  case 5: {
    size_t len = b == 5 ? (size_t)MOE_H5_MAX_STRING + 1 : 1 + FzU8(r);
    t          = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_strpad(t, b == 3 ? H5T_STR_NULLPAD : b == 4 ? H5T_STR_SPACEPAD : H5T_STR_NULLTERM);
    *kind = 2;
  } break;
  case 6: t = H5Tcopy(H5T_STD_I8LE); break;
  case 7: t = H5Tcopy(H5T_STD_I32BE); break;
  case 8: t = H5Tcopy(H5T_STD_I64LE); break;
  case 9: t = H5Tcopy(H5T_STD_U64LE); break;
  case 10: t = H5Tcopy(H5T_STD_U8LE); break;
  case 11: t = H5Tcopy(H5T_IEEE_F64LE); break;
  case 12: t = H5Tcopy(H5T_IEEE_F32BE); break;
  case 13: t = H5Tcopy(H5T_IEEE_F64BE); break;
  case 14:
    t = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(t, "a", 0, H5T_STD_I64LE);
    H5Tinsert(t, "b", 8, H5T_IEEE_F64LE);
    *kind = 4;
    break;
  case 15: {
    hsize_t two = 2;
    t           = H5Tarray_create2(H5T_STD_I64LE, 1, &two);
    *kind       = 4;
  } break;
  case 16: {
    int v0 = 0, v1 = 1;
    t = H5Tenum_create(H5T_STD_I32LE);
    H5Tenum_insert(t, "A", &v0);
    H5Tenum_insert(t, "B", &v1);
    *kind = 4;
  } break;
  case 17:
    t     = H5Tvlen_create(H5T_STD_I64LE);
    *kind = 3;
    break;
  case 18:
    t     = H5Tcopy(H5T_STD_B8LE);
    *kind = 4;
    break;
  case 19:
    t = H5Tcreate(H5T_OPAQUE, 4);
    H5Tset_tag(t, "fuzz");
    *kind = 4;
    break;
  case 20: t = H5Tcopy(H5T_STD_I16LE); break;
  case 21:
    t = H5Tcreate(H5T_COMPOUND, 8);
    H5Tinsert(t, "v", 0, H5T_STD_I64LE);
    *kind = 4;
    break;
  case 22: {
    hsize_t three = 3;
    t             = H5Tarray_create2(H5T_IEEE_F64LE, 1, &three);
    *kind         = 4;
  } break;
  default: t = H5Tcopy(H5T_NATIVE_DOUBLE); break;
  }
  return t;
}

static hsize_t FzDim(FzReader *r)
{
  uint8_t b = FzU8(r);
  switch (b % 16) {
  case 0: return 0;
  case 1: return 1;
  case 2: return 2;
  case 3: return 3;
  case 4: return 8;
  case 5: return 10;
  case 6: return 1ull << 20;
  case 7: return (1ull << 20) + 1;
  case 8: return 1ull << 59;
  case 9: return (1ull << 32) + 2;
  case 10: return fz_special_dims[0];
  case 11: return fz_special_dims[1];
  case 12: return fz_special_dims[2];
  case 13: return fz_special_dims[3];
  case 14: return (hsize_t)(FzU8(r) % 64);
  default: return (hsize_t)(FzU64(r) & ((1ull << 62) - 1));
  }
}

/* A dataspace: scalar, null, or simple of rank 1..3 or 9; *n its number of elements (saturated). */
static hid_t FzSpace(FzReader *r, hsize_t dims[32], int *rank, hsize_t *n)
{
  uint8_t b = FzU8(r) % 8;
  *n        = 1;
  *rank     = 0;
  if (b == 0) return H5Screate(H5S_SCALAR);
  if (b == 1) {
    *n = 0;
    return H5Screate(H5S_NULL);
  }
  *rank = b <= 4 ? 1 : b == 5 ? 2 : b == 6 ? 3 : 9;
  for (int i = 0; i < *rank; i++) {
    dims[i] = *rank == 9 ? 1 : FzDim(r);
    *n      = dims[i] && *n > ((hsize_t)1 << 62) / dims[i] ? (hsize_t)1 << 62 : *n * dims[i];
  }
  return H5Screate_simple(*rank, dims, NULL);
}

/* Write n elements of file type t (kind) from the recipe, through obj (an attribute when isattr). */
static void FzWriteValues(FzReader *r, hid_t obj, int isattr, hid_t t, int kind, hsize_t n)
{
  uint8_t mode = FzU8(r) % 4;
  size_t  size = H5Tget_size(t);
  hid_t   mt   = -1;
  void   *buf  = NULL;

  if (n == 0 || n > FZ_MAX_WRITE) return;
  if (kind == 1) { /* variable-length strings */
    char       **v    = calloc(n, sizeof(char *));
    static char  rawbuf[64][256];
    for (hsize_t i = 0; i < n; i++) v[i] = (char *)FzString(r, rawbuf[i % 64], sizeof(rawbuf[0]));
    mt  = H5Tcopy(t);
    buf = v;
  } else if (kind == 3) { /* variable-length sequences of int64 */
    hvl_t   *v    = calloc(n, sizeof(hvl_t));
    int64_t *vals = calloc(4 * n, sizeof(int64_t));
    for (hsize_t i = 0; i < n; i++) {
      v[i].len = FzU8(r) % 4;
      v[i].p   = vals + 4 * i;
      for (size_t j = 0; j < v[i].len; j++) vals[4 * i + j] = FzInt(r);
    }
    mt = H5Tcopy(t);
    if (isattr) H5Awrite(obj, mt, v);
    else H5Dwrite(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Tclose(mt);
    free(v);
    free(vals);
    return;
  } else if (mode == 0 && kind != 2) {
    int64_t *v = calloc(n, sizeof(int64_t));
    for (hsize_t i = 0; i < n; i++) v[i] = FzInt(r);
    mt  = H5Tcopy(H5T_NATIVE_INT64);
    buf = v;
  } else if (mode == 1 && kind != 2) {
    double *v = calloc(n, sizeof(double));
    for (hsize_t i = 0; i < n; i++) v[i] = FzReal(r);
    mt  = H5Tcopy(H5T_NATIVE_DOUBLE);
    buf = v;
  } else if (kind == 2 && mode != 3) { /* fixed-length strings */
    if ((double)n * size > 8e6) return;
    char *v = calloc(n, size);
    char  rawbuf[256];
    for (hsize_t i = 0; i < n; i++) {
      const char *s = FzString(r, rawbuf, sizeof(rawbuf));
      memcpy(v + i * size, s, strlen(s) < size ? strlen(s) : size);
    }
    mt  = H5Tcopy(t);
    buf = v;
  } else { /* raw bytes in the file's own type */
    if ((double)n * size > 8e6) return;
    unsigned char *v = calloc(n, size);
    for (size_t i = 0; i < n * size && r->i < r->n; i++) v[i] = FzU8(r);
    mt  = H5Tcopy(t);
    buf = v;
  }
  if (isattr) H5Awrite(obj, mt, buf);
  else H5Dwrite(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Tclose(mt);
  free(buf);
}

static const char *FzPath(FzReader *r)
{
  return fz_paths[FzU8(r) % FZ_NPATHS];
}

static const char *FzName(FzReader *r, char *raw, size_t cap)
{
  uint8_t b = FzU8(r);
  if (b < 0xF0) return fz_names[b % FZ_NNAMES];
  size_t n = FzBytes(r, raw, cap - 1);
  raw[n]   = 0;
  return raw;
}

static hid_t FzLcpl(void)
{
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

static void FzOpAttr(FzReader *r, hid_t file, int dense)
{
  char        raw[256];
  const char *path = FzPath(r), *name = FzName(r, raw, sizeof(raw));
  int         kind, rank;
  hsize_t     dims[32], n;
  hid_t       t = FzType(r, &kind), s = FzSpace(r, dims, &rank, &n), o, a;
  (void)dense;

  /* An attribute's values live in its object header (or the dense-storage heap) and must all be
     written: no huge dataspace.  libhdf5 1.10 itself overflows on one (a negative memset in
     H5O_msg_encode / H5O_msg_flush for an attribute of 2^62 elements), a crash in the recipe's writer
     that says nothing of moerate, so a large attribute dataspace becomes 2 x ... x 2. */
  if (n > FZ_MAX_WRITE && rank > 0) {
    for (int i = 0; i < rank; i++) dims[i] = 2;
    n = (hsize_t)1 << rank;
    H5Sset_extent_simple(s, rank, dims, NULL);
  }

  if (!fz_quiet) fprintf(stderr, "fuzz: recipe: attribute %s of %s: type class %d size %zu, %d dims, %llu values\n", name, path, (int)H5Tget_class(t), H5Tget_size(t), rank, (unsigned long long)n);
  o = H5Oopen(file, path, H5P_DEFAULT);
  if (o >= 0 && name[0]) {
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    a = H5Acreate2(o, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
      FzWriteValues(r, a, 1, t, kind, n);
      H5Aclose(a);
    }
  }
  if (o >= 0) H5Oclose(o);
  H5Tclose(t);
  H5Sclose(s);
}

static void FzOpDataset(FzReader *r, hid_t file)
{
  const char *path = FzPath(r);
  int         kind, rank;
  hsize_t     dims[32], n, maxdims[32], chunk[32];
  hid_t       t = FzType(r, &kind), s = FzSpace(r, dims, &rank, &n), dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = FzLcpl(), d;
  uint8_t     layout = FzU8(r) % 4;
  int         big    = n > FZ_MAX_WRITE;

  if (rank > 0 && (big || layout == 1 || layout == 3)) {
    for (int i = 0; i < rank; i++) {
      maxdims[i] = H5S_UNLIMITED;
      hsize_t cap = rank == 1 ? 65536 : rank == 2 ? 256 : 16; /* chunks of at most 64 Ki elements: a
                                                                  2^20-value read is then 16 chunks, not 65536 */
      chunk[i] = dims[i] >= 1 && dims[i] < cap ? dims[i] : cap;
    }
    H5Sset_extent_simple(s, rank, dims, maxdims);
    H5Pset_chunk(dcpl, rank, chunk);
    if (layout == 3) H5Pset_fletcher32(dcpl);
  } else if (layout == 2) H5Pset_layout(dcpl, H5D_COMPACT);
  if (!fz_quiet) fprintf(stderr, "fuzz: recipe: dataset %s: type class %d size %zu, %d dims, %llu values, layout %d\n", path, (int)H5Tget_class(t), H5Tget_size(t), rank, (unsigned long long)n, layout);
  if (H5Lexists(file, path, H5P_DEFAULT) > 0) H5Ldelete(file, path, H5P_DEFAULT);
  d = H5Dcreate2(file, path, t, s, lcpl, dcpl, H5P_DEFAULT);
  if (d >= 0) {
    if (!big) FzWriteValues(r, d, 0, t, kind, n);
    H5Dclose(d);
  }
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Tclose(t);
  H5Sclose(s);
}

/* Optional hook of a harness for op 7 (RECORDS). */
static void (*fz_records_op)(FzReader *, hid_t) = NULL;

/* Run the recipe on an open file.  dense: groups created keep attributes in dense storage (attributes
   larger than 64 KiB possible; the file must allow the 1.8 format). */
static void FzRunRecipe(FzReader *r, hid_t file, int dense)
{
  for (int ops = 0; ops < 200 && r->i < r->n; ops++) {
    uint8_t op = FzU8(r) % 9;
    char    raw[256];
    switch (op) {
    case 0: {
      const char *path = FzPath(r);
      hid_t       lcpl = FzLcpl(), gcpl = H5Pcreate(H5P_GROUP_CREATE), g;
      if (dense) H5Pset_attr_phase_change(gcpl, 0, 0);
      g = H5Gcreate2(file, path, lcpl, gcpl, H5P_DEFAULT);
      if (g >= 0) H5Gclose(g);
      H5Pclose(gcpl);
      H5Pclose(lcpl);
    } break;
    case 1: FzOpAttr(r, file, dense); break;
    case 2: FzOpDataset(r, file); break;
    case 3: {
      const char *path = FzPath(r), *name = FzName(r, raw, sizeof(raw));
      if (name[0]) H5Adelete_by_name(file, path, name, H5P_DEFAULT);
    } break;
    case 4: H5Ldelete(file, FzPath(r), H5P_DEFAULT); break;
    case 5:
    case 6: {
      const char *path = FzPath(r), *target = FzPath(r);
      hid_t       lcpl = FzLcpl();
      if (H5Lexists(file, path, H5P_DEFAULT) > 0) H5Ldelete(file, path, H5P_DEFAULT);
      if (op == 5) H5Lcreate_soft(target, file, path, lcpl, H5P_DEFAULT);
      else H5Lcreate_hard(file, target, file, path, lcpl, H5P_DEFAULT);
      H5Pclose(lcpl);
    } break;
    case 7:
      if (fz_records_op) fz_records_op(r, file);
      break;
    default: return;
    }
  }
}

#endif
