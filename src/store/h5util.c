/* Thin helpers over the HDF5 C API: every failure becomes a PETSc error. */
#include <moestore.h>
#include <unistd.h>
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

/* Reads fixed- or variable-length string attributes. */
PetscErrorCode MoeH5AttrReadString(hid_t obj, const char name[], char *buf, size_t len)
{
  hid_t a, ftype, mtype;

  PetscFunctionBegin;
  PetscCall(AttrOpen(obj, name, &a));
  ftype = H5Aget_type(a);
  PetscCheck(H5Tget_class(ftype) == H5T_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 attribute '%s' is not a string", name);
  mtype = H5Tcopy(H5T_C_S1);
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
    PetscCall(PetscCalloc1(sz + 1, &v));
    MoeH5Call(H5Tset_size(mtype, sz + 1));
    MoeH5Call(H5Aread(a, mtype, v));
    PetscCall(PetscStrncpy(buf, v, len));
    PetscCall(PetscFree(v));
  }
  MoeH5Call(H5Tclose(mtype));
  MoeH5Call(H5Tclose(ftype));
  MoeH5Call(H5Aclose(a));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeH5AttrReadInt(hid_t obj, const char name[], PetscInt64 *value)
{
  hid_t   a;
  int64_t v;

  PetscFunctionBegin;
  PetscCall(AttrOpen(obj, name, &a));
  MoeH5Call(H5Aread(a, H5T_NATIVE_INT64, &v));
  MoeH5Call(H5Aclose(a));
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

PetscErrorCode MoeH5DatasetSize(hid_t loc, const char name[], hsize_t *count)
{
  hid_t    dset, space;
  hssize_t n;
  PetscBool exists;

  PetscFunctionBegin;
  PetscCall(MoeH5LinkExists(loc, name, &exists));
  PetscCheck(exists, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 dataset '%s' is missing", name);
  dset = H5Dopen2(loc, name, H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open HDF5 dataset %s", name);
  space = H5Dget_space(dset);
  n     = H5Sget_simple_extent_npoints(space);
  MoeH5Call(H5Sclose(space));
  MoeH5Call(H5Dclose(dset));
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot size HDF5 dataset %s", name);
  *count = (hsize_t)n;
  PetscFunctionReturn(0);
}

/* Read a whole dataset of `count` doubles. */
PetscErrorCode MoeH5ReadReals(hid_t loc, const char name[], hsize_t count, PetscReal *data)
{
  hsize_t n;
  hid_t   dset;

  PetscFunctionBegin;
  PetscCall(MoeH5DatasetSize(loc, name, &n));
  PetscCheck(n == count, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 dataset '%s' has %llu values, expected %llu", name, (unsigned long long)n, (unsigned long long)count);
  dset = H5Dopen2(loc, name, H5P_DEFAULT);
  MoeH5Call(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  MoeH5Call(H5Dclose(dset));
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
