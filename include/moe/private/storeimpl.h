/*
   Internals of the store's results file (as PETSc keeps include/petsc/private/): one file per job --
   layout.c (the HDF5 types from the record table), write.c (the whole write), read.c (reading it back
   and checking an existing output), fsutil.c (renames, backups, the lock) and journal.c.
*/
#ifndef MOE_PRIVATE_STOREIMPL_H
#define MOE_PRIVATE_STOREIMPL_H

#include <moestore.h>
#include <moeestimator.h>

#define MOE_FORMAT_VERSION 6 /* 2: certificates in the records, checksummed datasets; 3: estimators; 4: restart tasks; 5: truth_shift (a truth that moves with n); 6: data streams keyed by chunk (-data_streams blocks, named in the spec text) */

/* layout.c */
PETSC_EXTERN hid_t          MoeStoreRecordType(void);
PETSC_EXTERN PetscErrorCode MoeStoreRecordDoc(char *, size_t);
PETSC_EXTERN hid_t          MoeStoreSessionType(void);
PETSC_EXTERN PetscErrorCode MoeStoreCheckRecordType(hid_t);
PETSC_EXTERN hid_t          MoeStoreFileAccess(void);
/* fsutil.c */
PETSC_EXTERN PetscErrorCode MoeResultsBackup(const char path[], const char why[]);

#endif
