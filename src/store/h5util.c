/* Thin helpers over the HDF5 C API: every failure becomes a PETSc error. */
#define _GNU_SOURCE /* memfd_create */
#include <moestore.h>
#include <unistd.h>
#include <sys/mman.h>
#include <errno.h>
#include <time.h>

/* HDF5 prints its error stack on every failed call by default; moerate reports failures
   itself, as one line. */
PetscErrorCode MoeH5Initialize(void)
{
  PetscFunctionBegin;
  MoeH5Call(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5AttrExists(hid_t obj, const char name[], PetscBool *exists)
{
  htri_t e = H5Aexists(obj, name);

  PetscFunctionBegin;
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "cannot query attribute %s", name);
  *exists = e ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode AttrReplace(hid_t obj, const char name[], hid_t type, hid_t space, const void *buf)
{
  PetscBool exists = PETSC_FALSE;
  hid_t     a;

  PetscFunctionBegin;
  PetscCall(MoeH5AttrExists(obj, name, &exists));
  if (exists) MoeH5Call(H5Adelete(obj, name));
  a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(a >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create HDF5 attribute %s", name);
  MoeH5Call(H5Awrite(a, type, buf));
  MoeH5Call(H5Aclose(a));
  PetscFunctionReturn(0);
}

/* Variable-length UTF-8 strings: h5py reads them as str. */
PetscErrorCode MoeH5AttrWriteString(hid_t obj, const char name[], const char value[])
{
  hid_t       type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
  const char *v    = value ? value : "";

  PetscFunctionBegin;
  MoeH5Call(H5Tset_size(type, H5T_VARIABLE));
  MoeH5Call(H5Tset_cset(type, H5T_CSET_UTF8));
  PetscCall(AttrReplace(obj, name, type, space, &v));
  MoeH5Call(H5Tclose(type));
  MoeH5Call(H5Sclose(space));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5AttrWriteInt(hid_t obj, const char name[], PetscInt64 value)
{
  hid_t   space = H5Screate(H5S_SCALAR);
  int64_t v     = value;

  PetscFunctionBegin;
  PetscCall(AttrReplace(obj, name, H5T_NATIVE_INT64, space, &v));
  MoeH5Call(H5Sclose(space));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5AttrWriteReal(hid_t obj, const char name[], PetscReal value)
{
  hid_t  space = H5Screate(H5S_SCALAR);
  double v     = value;

  PetscFunctionBegin;
  PetscCall(AttrReplace(obj, name, H5T_NATIVE_DOUBLE, space, &v));
  MoeH5Call(H5Sclose(space));
  PetscFunctionReturn(0);
}

static PetscErrorCode AttrOpen(hid_t obj, const char name[], hid_t *a)
{
  PetscBool exists;

  PetscFunctionBegin;
  PetscCall(MoeH5AttrExists(obj, name, &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 attribute '%s' is missing", name);
  *a = H5Aopen(obj, name, H5P_DEFAULT);
  PetscCheck(*a >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open HDF5 attribute %s", name);
  PetscFunctionReturn(0);
}

/* How many values attribute a holds and their type class (-1 and H5T_NO_CLASS when HDF5
   cannot say). */
static void AttrShape(hid_t a, hssize_t *n, H5T_class_t *cls)
{
  hid_t space = H5Aget_space(a), type = H5Aget_type(a);

  *n   = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  *cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
}

/* Open an attribute that must hold one value (a scalar dataspace, or one element) of class
   cls: reading an array into one value would write past it. */
static PetscErrorCode AttrOpenOne(hid_t obj, const char name[], H5T_class_t cls, hid_t *a)
{
  hssize_t    n;
  H5T_class_t c;

  PetscFunctionBegin;
  PetscCall(AttrOpen(obj, name, a));
  AttrShape(*a, &n, &c);
  if (n == 1 && c == cls) PetscFunctionReturn(0);
  H5Aclose(*a);
  *a = H5I_INVALID_HID;
  PetscCheck(n == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 attribute '%s' holds %lld values, not one", name, (long long)n);
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 attribute '%s' is not %s", name, cls == H5T_STRING ? "a string" : "an integer");
}

/* The string of a one-string attribute a into buf; a fixed-length string of more than
   MOE_H5_MAX_STRING bytes is refused rather than allocated. */
static PetscErrorCode AttrReadOneString(hid_t a, hid_t ftype, hid_t mtype, const char name[], char *buf, size_t len)
{
  PetscFunctionBegin;
  PetscCheck(ftype >= 0 && mtype >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read the type of HDF5 attribute %s", name);
  MoeH5Call(H5Tset_cset(mtype, H5Tget_cset(ftype)));
  if (H5Tis_variable_str(ftype) > 0) {
    char *v = NULL;
    MoeH5Call(H5Tset_size(mtype, H5T_VARIABLE));
    MoeH5Call(H5Aread(a, mtype, &v));
    PetscCall(PetscStrncpy(buf, v ? v : "", len));
    if (v) H5free_memory(v);
  } else {
    size_t sz = H5Tget_size(ftype);
    char  *v;
    PetscCheck(sz > 0 && sz <= MOE_H5_MAX_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 attribute '%s' is a string of %zu bytes (at most %d)", name, sz, MOE_H5_MAX_STRING);
    PetscCall(PetscCalloc1(sz + 1, &v));
    MoeH5Call(H5Tset_size(mtype, sz + 1));
    MoeH5Call(H5Aread(a, mtype, v));
    PetscCall(PetscStrncpy(buf, v, len));
    PetscCall(PetscFree(v));
  }
  PetscFunctionReturn(0);
}

/* Reads a fixed- or variable-length string attribute holding one string. */
PetscErrorCode MoeH5AttrReadString(hid_t obj, const char name[], char *buf, size_t len)
{
  hid_t          a, ftype, mtype;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(AttrOpenOne(obj, name, H5T_STRING, &a));
  ftype = H5Aget_type(a);
  mtype = H5Tcopy(H5T_C_S1);
  ierr  = AttrReadOneString(a, ftype, mtype, name, buf, len);
  if (mtype >= 0) H5Tclose(mtype);
  if (ftype >= 0) H5Tclose(ftype);
  H5Aclose(a);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* Reads an attribute holding one value of class cls as the native type mem (what names it in errors). */
static PetscErrorCode AttrReadScalar(hid_t obj, const char name[], H5T_class_t cls, hid_t mem, const char what[], void *value)
{
  hid_t  a;
  herr_t e;

  PetscFunctionBegin;
  PetscCall(AttrOpenOne(obj, name, cls, &a));
  e = H5Aread(a, mem, value);
  H5Aclose(a);
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read HDF5 attribute %s as %s", name, what);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5AttrReadInt(hid_t obj, const char name[], PetscInt64 *value)
{
  int64_t v;

  PetscFunctionBegin;
  PetscCall(AttrReadScalar(obj, name, H5T_INTEGER, H5T_NATIVE_INT64, "a 64-bit integer", &v));
  *value = v;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5AttrReadReal(hid_t obj, const char name[], PetscReal *value)
{
  double v;

  PetscFunctionBegin;
  PetscCall(AttrReadScalar(obj, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, "a double", &v));
  *value = v;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5LinkExists(hid_t loc, const char path[], PetscBool *exists)
{
  htri_t e = H5Lexists(loc, path, H5P_DEFAULT);

  PetscFunctionBegin;
  *exists = e > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

typedef struct {
  char   *name;
  size_t  len;
  H5L_type_t type;
} LinkFound;

static herr_t FindForeignLink(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
  LinkFound *f = (LinkFound *)ctx;

  (void)g;
  if (info->type == H5L_TYPE_HARD) return 0;
  snprintf(f->name, f->len, "%s", name);
  f->type = info->type;
  return 1; /* stop: one is enough to refuse the file */
}

/* moerate writes only hard links.  An external link (to another file, perhaps a FIFO that
   would block the run beyond the reach of SIGTERM), a soft or a user-defined link comes from
   an edited or crafted file: name the first one found ("" when none).  H5Lvisit does not
   traverse the links it reports, so nothing outside the file is opened. */
PetscErrorCode MoeH5FindForeignLink(hid_t file, char name[], size_t len, const char **kind)
{
  LinkFound f = {name, len, H5L_TYPE_HARD};
  herr_t    e;

  PetscFunctionBegin;
  name[0] = 0;
  *kind   = "";
  e       = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, FindForeignLink, &f);
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot list the objects of the HDF5 file");
  if (name[0]) *kind = f.type == H5L_TYPE_EXTERNAL ? "an external link" : f.type == H5L_TYPE_SOFT ? "a soft link" : "a user-defined link";
  PetscFunctionReturn(0);
}

/* Refuse, in one line naming option, path and the fix, a file holding a link moerate never writes. */
PetscErrorCode MoeH5RefuseForeignLinks(hid_t file, const char option[], const char path[], const char fix[])
{
  char        link[256];
  const char *kind;

  PetscFunctionBegin;
  PetscCall(MoeH5FindForeignLink(file, link, sizeof(link), &kind));
  MoeUserCheck(!link[0], "%s %s holds %s at /%s, which moerate never writes (an edited or crafted file): %s", option, path, kind, link, fix);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5CreateGroup(hid_t loc, const char name[], hid_t *group)
{
  PetscBool exists;

  PetscFunctionBegin;
  PetscCall(MoeH5LinkExists(loc, name, &exists));
  *group = exists ? H5Gopen2(loc, name, H5P_DEFAULT) : H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(*group >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create HDF5 group %s", name);
  PetscFunctionReturn(0);
}

/* A dataset whose data HDF5 checksums (the Fletcher-32 filter, on chunks of about 1 MB along
   the first dimension): a flipped byte in the stored numbers makes every later read fail
   instead of returning a wrong number.  Rank 1 or 2. */
/* Chunks of about 1 MiB of whole rows. */
static void ChunkRows(int rank, const hsize_t dims[], hid_t type, hsize_t chunk[2])
{
  hsize_t row = H5Tget_size(type) * (rank > 1 && dims[1] ? dims[1] : 1);

  chunk[0] = PetscMax(1, PetscMin(dims[0], (1 << 20) / PetscMax(row, 1)));
  if (rank > 1) chunk[1] = PetscMax(1, dims[1]);
}

static PetscErrorCode CreateChecksummed(hid_t loc, const char name[], hid_t type, int rank, const hsize_t dims[], const void *fill, hid_t *dset)
{
  hid_t   space = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t chunk[2];

  PetscFunctionBegin;
  ChunkRows(rank, dims, type, chunk);
  if (dims[0] > 0 && (rank < 2 || dims[1] > 0)) { /* an empty dataset has nothing to checksum */
    MoeH5Call(H5Pset_chunk(dcpl, rank, chunk));
    MoeH5Call(H5Pset_fletcher32(dcpl));
  }
  if (fill) MoeH5Call(H5Pset_fill_value(dcpl, type, fill));
  *dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  PetscCheck(*dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot create HDF5 dataset %s", name);
  MoeH5Call(H5Pclose(dcpl));
  MoeH5Call(H5Sclose(space));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5CreateChecksummed(hid_t loc, const char name[], hid_t type, int rank, const hsize_t dims[], hid_t *dset)
{
  PetscFunctionBegin;
  PetscCall(CreateChecksummed(loc, name, type, rank, dims, NULL, dset));
  PetscFunctionReturn(0);
}

static PetscBool AllNaN(const PetscReal *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (v[i] == v[i]) return PETSC_FALSE;
  return PETSC_TRUE;
}

/* A dims[0] x dims[1] dataset of doubles like MoeH5WriteReals, whose chunks of rows that are
   all NaN (tasks not done yet, losses that do not apply) are not written: HDF5 stores no
   chunk for them and reads them as the NaN fill value.  A file of mostly pending tasks is
   then small, and writing it fast. */
PetscErrorCode MoeH5WriteRowsSparse(hid_t loc, const char name[], const hsize_t dims[2], const PetscReal *data, const char units[], const char meaning[])
{
  const PetscReal nan = MOE_NAN;
  hid_t           dset, fspace, mspace;
  hsize_t         chunk[2], start[2] = {0, 0}, count[2];

  PetscFunctionBegin;
  PetscCall(CreateChecksummed(loc, name, H5T_NATIVE_DOUBLE, 2, dims, &nan, &dset));
  ChunkRows(2, dims, H5T_NATIVE_DOUBLE, chunk);
  fspace = H5Dget_space(dset);
  for (start[0] = 0; dims[1] > 0 && start[0] < dims[0]; start[0] += chunk[0]) {
    const PetscReal *rows = data + start[0] * dims[1];
    count[0]              = PetscMin(chunk[0], dims[0] - start[0]);
    count[1]              = dims[1];
    if (AllNaN(rows, (size_t)(count[0] * count[1]))) continue;
    mspace = H5Screate_simple(2, count, NULL);
    MoeH5Call(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    MoeH5Call(H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, rows));
    MoeH5Call(H5Sclose(mspace));
  }
  MoeH5Call(H5Sclose(fspace));
  if (units) PetscCall(MoeH5AttrWriteString(dset, "units", units));
  if (meaning) PetscCall(MoeH5AttrWriteString(dset, "meaning", meaning));
  MoeH5Call(H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* A dataset of doubles with "units" and "meaning" attributes, checksummed. */
PetscErrorCode MoeH5WriteReals(hid_t loc, const char name[], int rank, const hsize_t dims[], const PetscReal *data, const char units[], const char meaning[])
{
  hid_t dset;

  PetscFunctionBegin;
  PetscCall(MoeH5CreateChecksummed(loc, name, H5T_NATIVE_DOUBLE, rank, dims, &dset));
  MoeH5Call(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  if (units) PetscCall(MoeH5AttrWriteString(dset, "units", units));
  if (meaning) PetscCall(MoeH5AttrWriteString(dset, "meaning", meaning));
  MoeH5Call(H5Dclose(dset));
  PetscFunctionReturn(0);
}

/* The rank and dimensions of dataset name (at most MOE_H5_MAX_RANK dimensions). */
PetscErrorCode MoeH5DatasetShape(hid_t loc, const char name[], int *rank, hsize_t dims[MOE_H5_MAX_RANK])
{
  hid_t     dset, space;
  PetscBool exists;
  int       r = -1;

  PetscFunctionBegin;
  PetscCall(MoeH5LinkExists(loc, name, &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 dataset '%s' is missing", name);
  dset = H5Dopen2(loc, name, H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open HDF5 dataset %s", name);
  space = H5Dget_space(dset);
  if (space >= 0) r = H5Sget_simple_extent_ndims(space);
  if (r >= 0 && r <= MOE_H5_MAX_RANK) r = H5Sget_simple_extent_dims(space, dims, NULL);
  if (space >= 0) H5Sclose(space);
  H5Dclose(dset);
  PetscCheck(r >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot size HDF5 dataset %s", name);
  PetscCheck(r <= MOE_H5_MAX_RANK, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 dataset '%s' has %d dimensions", name, r);
  *rank = r;
  PetscFunctionReturn(0);
}

/* "18 x 1", "1 value" (scalar) */
static void ShapeString(int rank, const hsize_t dims[], char buf[], size_t len)
{
  size_t used = 0;

  if (!rank) snprintf(buf, len, "1 value (a scalar)");
  for (int i = 0; i < rank && used < len; i++) used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? " x " : "", (unsigned long long)dims[i]);
}

/* Dataset name must be rank x dims, every dimension compared (a transposed dataset holds the
   right number of values in the wrong places). */
PetscErrorCode MoeH5CheckShape(hid_t loc, const char name[], int rank, const hsize_t dims[])
{
  hsize_t   have[MOE_H5_MAX_RANK];
  int       r;
  PetscBool same;
  char      got[128], want[128];

  PetscFunctionBegin;
  PetscCall(MoeH5DatasetShape(loc, name, &r, have));
  same = (PetscBool)(r == rank);
  for (int i = 0; same && i < rank; i++) same = (PetscBool)(have[i] == dims[i]);
  if (same) PetscFunctionReturn(0);
  ShapeString(r, have, got, sizeof(got));
  ShapeString(rank, dims, want, sizeof(want));
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 dataset '%s' is %s, expected %s", name, got, want);
}

/* Read a whole dataset of doubles that must be rank x dims: its shape is checked before a
   value is read into data (which holds the product of dims). */
PetscErrorCode MoeH5ReadReals(hid_t loc, const char name[], int rank, const hsize_t dims[], PetscReal *data)
{
  hid_t  dset;
  herr_t e;

  PetscFunctionBegin;
  PetscCall(MoeH5CheckShape(loc, name, rank, dims));
  dset = H5Dopen2(loc, name, H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open HDF5 dataset %s", name);
  e = H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dclose(dset);
  PetscCheck(e >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read HDF5 dataset %s (a damaged chunk fails its checksum)", name);
  PetscFunctionReturn(0);
}

static herr_t CloseObject(hid_t id)
{
  switch (H5Iget_type(id)) {
  case H5I_DATASET:
    return H5Dclose(id);
  case H5I_GROUP:
    return H5Gclose(id);
  case H5I_DATATYPE:
    return H5Tclose(id);
  case H5I_ATTR:
    return H5Aclose(id);
  default:
    return -1;
  }
}

/* Close file and every object still open in it.  An error path returns with datasets, groups
   and attributes open; left open, they keep the file open, and HDF5 then flushes (and on a
   full disk crashes) inside MPI_Finalize.  Negative when a close failed: for a file being
   written, its data may not all be in the file. */
herr_t MoeH5CloseFile(hid_t file)
{
  const unsigned types = H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL;
  herr_t         status = 0;
  ssize_t        n;
  hid_t          ids[64];

  for (int pass = 0; pass < 1024 && (n = H5Fget_obj_count(file, types)) != 0; pass++) {
    if (n < 0 || (n = H5Fget_obj_ids(file, types, 64, ids)) <= 0) {
      status = -1;
      break;
    }
    for (ssize_t i = 0; i < n; i++)
      if (CloseObject(ids[i]) < 0) status = -1;
  }
  if (H5Fclose(file) < 0) status = -1;
  return status;
}

typedef struct {
  char  *why;
  size_t len;
} SystemErrorSearch;

static herr_t FindSystemError(unsigned n, const H5E_error2_t *e, void *ctx)
{
  SystemErrorSearch *s   = (SystemErrorSearch *)ctx;
  const char        *key = "error message = '", *m = e->desc ? strstr(e->desc, key) : NULL;

  if (m && !s->why[0]) snprintf(s->why, s->len, "%.*s", (int)strcspn(m + strlen(key), "'"), m + strlen(key));
  return 0;
}

/* The operating system's reason for the HDF5 call that just failed ("No space left on
   device"), from HDF5's error stack; "" when it recorded none.  Call it before any other
   HDF5 call, which would clear the stack. */
static void SystemError(char why[], size_t len)
{
  SystemErrorSearch s = {why, len};

  why[0] = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, FindSystemError, &s);
}

/* What made a write fail: the system's reason, else the PETSc error's message. */
static void WriteFailure(PetscErrorCode ierr, char why[], size_t len)
{
  SystemError(why, len);
  if (why[0]) return;
  snprintf(why, len, "%s", MoeErrorText(ierr));
}

/* The POSIX descriptor HDF5 writes file through (-1 under a driver other than sec2). */
static int FileDescriptor(hid_t file)
{
  hid_t fapl = H5Fget_access_plist(file);
  int  *fd   = NULL, ret = -1;

  if (fapl < 0) return -1;
  if (H5Pget_driver(fapl) == H5FD_SEC2 && H5Fget_vfd_handle(file, fapl, (void **)&fd) >= 0 && fd) ret = *fd;
  H5Pclose(fapl);
  return ret;
}

/* Everything HDF5 holds for file written and on disk: a full disk shows in the flush, or (on
   NFS, Lustre) only in the fsync. */
static PetscBool FlushToDisk(hid_t file, int fd, char why[], size_t len)
{
  if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0) {
    SystemError(why, len);
    if (!why[0]) snprintf(why, len, "flushing it failed");
    return PETSC_FALSE;
  }
  if (fd >= 0 && fsync(fd)) {
    snprintf(why, len, "fsync: %s", strerror(errno));
    return PETSC_FALSE;
  }
  return PETSC_TRUE;
}

/* Point file's descriptor at an anonymous memory file and flush: what HDF5 still writes (a
   file abandoned: its dirty metadata and chunks; a file on disk whole: the superblock its
   close rewrites) goes nowhere, so its close cannot fail.  HDF5 1.10 keeps the id of a file
   whose H5Fclose failed, its memory freed, and crashes closing it again inside MPI_Finalize;
   and a failed flush leaves the metadata cache in a state (its "slist" enabled) in which
   every later close fails, until one flush succeeds. */
static void DiscardWrites(hid_t file, int fd)
{
  int sink = fd >= 0 ? memfd_create("moerate-discarded", 0) : -1;

  if (sink >= 0) {
    dup2(sink, fd);
    close(sink);
  }
  H5Fflush(file, H5F_SCOPE_LOCAL); /* may report the cache's state, and repairs it */
}

/* Create the file tmp, write it with body(file, ctx), flush and fsync it, and close it.  On
   any failure (a full disk, a failing one) every HDF5 id of the file is closed, tmp is
   removed, *ok is false and why says what failed, for the caller's one-line error. */
PetscErrorCode MoeH5WriteFile(const char tmp[], hid_t fapl, PetscErrorCode (*body)(hid_t, void *), void *ctx, char why[], size_t len, PetscBool *ok)
{
  hid_t          file;
  PetscErrorCode ierr;
  int            fd;

  PetscFunctionBegin;
  why[0] = 0;
  *ok    = PETSC_FALSE;
  file   = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (file < 0) {
    SystemError(why, len);
    if (!why[0]) snprintf(why, len, "cannot create it");
    unlink(tmp); /* it may exist, half made */
    PetscFunctionReturn(0);
  }
  fd = FileDescriptor(file);
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = (*body)(file, ctx);
  PetscCall(PetscPopErrorHandler());
  if (ierr) WriteFailure(ierr, why, len);
  else if (!FlushToDisk(file, fd, why, len)) ierr = MOE_ERR_IO;
  DiscardWrites(file, fd);
  if (MoeH5CloseFile(file) < 0 && !ierr) {
    SystemError(why, len);
    if (!why[0]) snprintf(why, len, "closing it failed");
    ierr = MOE_ERR_IO;
  }
  *ok = (PetscBool)!ierr;
  if (ierr) unlink(tmp);
  PetscFunctionReturn(0);
}

/* Who, where, with what: attributes on obj (collective in parallel files). */
PetscErrorCode MoeH5WriteProvenance(hid_t obj, MPI_Comm comm, const char command[])
{
  char        petsc[256], mpi[MPI_MAX_LIBRARY_VERSION_STRING], hdf5[64], host[256] = "", date[64];
  const char *rev;
  unsigned    maj, min, rel;
  int         len;
  PetscMPIInt size;
  time_t      now = time(NULL);

  PetscFunctionBegin;
  PetscCall(PetscGetVersion(petsc, sizeof(petsc)));
  MPI_Get_library_version(mpi, &len);
  for (; len > 0 && (mpi[len - 1] == '\n' || mpi[len - 1] == ' ' || mpi[len - 1] == 0); len--) mpi[len - 1] = 0;
  H5get_libversion(&maj, &min, &rel);
  PetscCall(PetscSNPrintf(hdf5, sizeof(hdf5), "%u.%u.%u", maj, min, rel));
  gethostname(host, sizeof(host) - 1);
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  /* attribute writes are collective: every rank must write rank 0's values */
  PetscCallMPI(MPI_Bcast(host, sizeof(host), MPI_CHAR, 0, comm));
  PetscCallMPI(MPI_Bcast(date, sizeof(date), MPI_CHAR, 0, comm));
  PetscCall(MoeGitRevision(&rev));
  PetscCall(MoeH5AttrWriteString(obj, "moerate_version", MOERATE_VERSION));
  PetscCall(MoeH5AttrWriteString(obj, "git_revision", rev));
  PetscCall(MoeH5AttrWriteString(obj, "petsc_version", petsc));
  PetscCall(MoeH5AttrWriteString(obj, "hdf5_version", hdf5));
  PetscCall(MoeH5AttrWriteString(obj, "mpi_version", mpi));
  PetscCall(MoeH5AttrWriteString(obj, "host", host));
  PetscCall(MoeH5AttrWriteString(obj, "blas", MoeBlasDescription()));
  PetscCall(MoeH5AttrWriteInt(obj, "ranks", size));
  PetscCall(MoeH5AttrWriteString(obj, "command", command));
  PetscCall(MoeH5AttrWriteString(obj, "created", date));
  PetscFunctionReturn(0);
}
