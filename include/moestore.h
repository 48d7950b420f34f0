/*
   Store: HDF5 files.  Small helpers over the HDF5 C API that turn HDF5 failures into
   PETSc errors (HDF5's own error stack printing is switched off), and the layouts of
   moerate's files (documented in docs/FORMAT.md).
*/
#ifndef MOESTORE_H
#define MOESTORE_H

#include <moegrid.h>
#include <hdf5.h>

#define MoeH5Call(call) \
  do { \
    if (PetscUnlikely((call) < 0)) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 call failed: %s", #call); \
  } while (0)

#define MOE_H5_MAX_RANK   8         /* datasets of more dimensions are not moerate's */
#define MOE_H5_MAX_STRING (1 << 20) /* a fixed-length string attribute of more bytes is refused */

PETSC_EXTERN PetscErrorCode MoeH5Initialize(void);
PETSC_EXTERN PetscErrorCode MoeH5AttrWriteString(hid_t, const char[], const char[]);
PETSC_EXTERN PetscErrorCode MoeH5AttrWriteInt(hid_t, const char[], PetscInt64);
PETSC_EXTERN PetscErrorCode MoeH5AttrWriteReal(hid_t, const char[], PetscReal);
PETSC_EXTERN PetscErrorCode MoeH5AttrReadString(hid_t, const char[], char *, size_t);
PETSC_EXTERN PetscErrorCode MoeH5AttrReadInt(hid_t, const char[], PetscInt64 *);
PETSC_EXTERN PetscErrorCode MoeH5AttrReadReal(hid_t, const char[], PetscReal *);
PETSC_EXTERN PetscErrorCode MoeH5AttrExists(hid_t, const char[], PetscBool *);
PETSC_EXTERN PetscErrorCode MoeH5CreateChecksummed(hid_t, const char[], hid_t type, int rank, const hsize_t dims[], hid_t *);
PETSC_EXTERN PetscErrorCode MoeH5WriteRowsSparse(hid_t, const char[], const hsize_t[2], const PetscReal *, const char units[], const char meaning[]);
PETSC_EXTERN PetscErrorCode MoeH5WriteReals(hid_t, const char[], int rank, const hsize_t dims[], const PetscReal *, const char units[], const char meaning[]);
PETSC_EXTERN PetscErrorCode MoeH5ReadReals(hid_t, const char[], int rank, const hsize_t dims[], PetscReal *);
PETSC_EXTERN PetscErrorCode MoeH5DatasetShape(hid_t, const char[], int *rank, hsize_t dims[MOE_H5_MAX_RANK]);
PETSC_EXTERN PetscErrorCode MoeH5CheckShape(hid_t, const char[], int rank, const hsize_t dims[]);
PETSC_EXTERN PetscErrorCode MoeH5LinkExists(hid_t, const char[], PetscBool *);
PETSC_EXTERN PetscErrorCode MoeH5FindForeignLink(hid_t, char[], size_t, const char **);
PETSC_EXTERN PetscErrorCode MoeH5RefuseForeignLinks(hid_t, const char[], const char[], const char[]);
PETSC_EXTERN PetscErrorCode MoeH5CreateGroup(hid_t, const char[], hid_t *);
PETSC_EXTERN PetscErrorCode MoeH5WriteProvenance(hid_t, MPI_Comm, const char command[]);
PETSC_EXTERN herr_t         MoeH5CloseFile(hid_t);
PETSC_EXTERN PetscErrorCode MoeH5WriteFile(const char tmp[], hid_t fapl, PetscErrorCode (*body)(hid_t, void *), void *ctx, char why[], size_t len, PetscBool *ok);

/* The file of `moerate fit -output` (src/store/replicate.c). */
typedef struct {
  const MoeSpec        *spec;
  const MoeTruth       *truth;
  MoeModel              model;
  const MoeData        *data;
  PetscInt              replicate;
  const PetscReal      *theta0, *theta, *losses;
  const MoeFitResult   *fit;
  const char           *reason_name; /* MoeFitReasonString(fit->reason) */
  const MoeCertificate *cert;
  const PetscReal      *gbar; /* NULL: the fit needs no G-bar */
  const MoeFitResult   *gbar_fit;
  PetscBool             gbar_identified;
  PetscReal             gbar_sd;
  const char           *gbar_why;
} MoeReplicateFile;
PETSC_EXTERN PetscErrorCode MoeStoreWriteReplicate(const MoeReplicateFile *, const char path[], const char command[]);

/* truth files, read (src/store/truth.c) */
PETSC_EXTERN PetscErrorCode MoeStoreReadTruthFile(MPI_Comm, MoeTruthFile **);

/* models and truths (src/store/model.c) */
PETSC_EXTERN PetscErrorCode MoeStoreWriteModelAttributes(hid_t, MoeModel);
PETSC_EXTERN PetscErrorCode MoeStoreWriteFittedModel(hid_t, MoeModel);
PETSC_EXTERN PetscErrorCode MoeStoreWriteTruth(hid_t, const MoeTruth *);
PETSC_EXTERN PetscErrorCode MoeStoreWriteFamilies(hid_t, const MoeSpec *);

/* The results file (src/store/write.c, read.c, fsutil.c). */
PETSC_EXTERN PetscErrorCode MoeResultsWrite(MoeResults *, const char path[], const char command[], PetscBool complete, PetscLogDouble session_start, PetscReal delay);
PETSC_EXTERN PetscErrorCode MoeResultsLoad(MoeResults *, const char path[], PetscBool retry_failed, PetscBool force, PetscBool *found);
PETSC_EXTERN PetscErrorCode MoeResultsCheckExisting(const MoeSpec *, const char path[], PetscBool force);
PETSC_EXTERN PetscErrorCode MoeResultsLock(const char path[]);
PETSC_EXTERN PetscErrorCode MoeResultsUnlock(void);

/* The journal PATH.journal: results finished since the last whole write (src/store/journal.c). */
PETSC_EXTERN PetscErrorCode MoeJournalPath(const char path[], char journal[], size_t len);
PETSC_EXTERN PetscErrorCode MoeJournalNewToken(char token[MOE_TOKEN_LEN]);
PETSC_EXTERN PetscErrorCode MoeJournalAppend(const MoeResults *, const char path[], const PetscInt64 ids[], PetscInt64 n);
PETSC_EXTERN PetscErrorCode MoeJournalReplay(MoeResults *, const char path[], PetscInt64 *merged);
PETSC_EXTERN PetscErrorCode MoeJournalRemove(const char path[]);
PETSC_EXTERN PetscErrorCode MoeRenameAside(const char what[], const char from[], const char stem[], char chosen[], size_t len, PetscBool *moved);
PETSC_EXTERN PetscErrorCode MoeSyncDirectory(const char path[]);

#endif
