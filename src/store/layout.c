/* The HDF5 types of the results file, made from the record table of moegrid.h, and their check when a
   file is read back (layout: docs/FORMAT.md). */
#include <moe/private/storeimpl.h>

hid_t MoeStoreRecordType(void)
{
  const MoeRecordField *f;
  PetscInt              nf;

  MoeRecordFields(&nf, &f);
  hid_t  t        = H5Tcreate(H5T_COMPOUND, sizeof(MoeRecord));
  hid_t  types[4] = {H5T_NATIVE_INT32, H5T_NATIVE_INT64, H5T_NATIVE_UINT64, H5T_NATIVE_DOUBLE};
  PetscInt i;

  for (i = 0; i < nf; i++) H5Tinsert(t, f[i].name, f[i].offset, types[f[i].kind]);
  return t;
}

/* "one record per task, row i = task id i. id: ...; kind: ...; ..." */
PetscErrorCode MoeStoreRecordDoc(char *buf, size_t len)
{
  const MoeRecordField *f;
  PetscInt              nf, i;

  PetscFunctionBegin;
  MoeRecordFields(&nf, &f);
  PetscCall(PetscStrncpy(buf, "one record per task, row i = task id i. ", len));
  for (i = 0; i < nf; i++) {
    PetscCall(PetscStrlcat(buf, f[i].name, len));
    PetscCall(PetscStrlcat(buf, ": ", len));
    PetscCall(PetscStrlcat(buf, f[i].meaning, len));
    PetscCall(PetscStrlcat(buf, i + 1 < nf ? "; " : "", len));
  }
  PetscFunctionReturn(0);
}

hid_t MoeStoreSessionType(void)
{
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(MoeSession)), s = H5Tcopy(H5T_C_S1);
  H5Tset_size(s, sizeof(((MoeSession *)0)->host));
  H5Tinsert(t, "start", HOFFSET(MoeSession, start), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "end", HOFFSET(MoeSession, end), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "io_time", HOFFSET(MoeSession, io_time), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "ranks", HOFFSET(MoeSession, ranks), H5T_NATIVE_INT32);
  H5Tinsert(t, "exit_status", HOFFSET(MoeSession, exit_status), H5T_NATIVE_INT32);
  H5Tinsert(t, "host", HOFFSET(MoeSession, host), s);
  H5Tclose(s);
  return t;
}

/* Member j of the file's record type must be field f of the table: its type and offset. */
static PetscErrorCode CheckRecordMember(hid_t ftype, int j, const MoeRecordField *f)
{
  static const H5T_class_t classes[4] = {H5T_INTEGER, H5T_INTEGER, H5T_INTEGER, H5T_FLOAT};
  static const size_t      sizes[4]   = {4, 8, 8, 8};
  static const H5T_sign_t  signs[4]   = {H5T_SGN_2, H5T_SGN_2, H5T_SGN_NONE, H5T_SGN_ERROR};
  static const char       *names[4]   = {"int32", "int64", "uint64", "float64"};
  hid_t                    mt         = H5Tget_member_type(ftype, (unsigned)j);
  H5T_class_t              c          = mt >= 0 ? H5Tget_class(mt) : H5T_NO_CLASS;
  size_t                   size       = mt >= 0 ? H5Tget_size(mt) : 0;
  H5T_sign_t               sign       = c == H5T_INTEGER ? H5Tget_sign(mt) : H5T_SGN_ERROR;
  size_t                   offset     = H5Tget_member_offset(ftype, (unsigned)j);

  PetscFunctionBegin;
  if (mt >= 0) H5Tclose(mt);
  PetscCheck(c == classes[f->kind] && size == sizes[f->kind] && sign == signs[f->kind], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "the field '%s' of /tasks/records is not %s", f->name, names[f->kind]);
  PetscCheck(offset == f->offset, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "the field '%s' of /tasks/records is at byte %zu of a record, not %zu", f->name, offset, f->offset);
  PetscFunctionReturn(0);
}

/* The records' type in the file must be the table's, field by field (name, type, offset):
   read with the table's type, a record without `objective` or `certified` would come back
   NaN or uncertified and be written back under fresh checksums. */
PetscErrorCode MoeStoreCheckRecordType(hid_t ftype)
{
  const MoeRecordField *f;
  PetscInt              nf;
  int                   n = H5Tget_class(ftype) == H5T_COMPOUND ? H5Tget_nmembers(ftype) : -1;

  PetscFunctionBegin;
  MoeRecordFields(&nf, &f);
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/tasks/records is not a table of records");
  for (PetscInt i = 0; i < nf; i++) {
    int j = H5Tget_member_index(ftype, f[i].name);
    PetscCheck(j >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/tasks/records has no field '%s'", f[i].name);
    PetscCall(CheckRecordMember(ftype, j, &f[i]));
  }
  PetscCheck(n == (int)nf && H5Tget_size(ftype) == sizeof(MoeRecord), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/tasks/records has %d fields in %zu bytes, a record has %d in %zu", n, H5Tget_size(ftype), (int)nf, sizeof(MoeRecord));
  PetscFunctionReturn(0);
}

hid_t MoeStoreFileAccess(void)
{
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, 0, 1); /* the file is replaced by rename; locks break on NFS/Lustre */
  return fapl;
}
