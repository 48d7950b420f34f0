/* The work queue of `moerate run` (src/grid/schedule.c). */
#ifndef MOESCHEDULE_H
#define MOESCHEDULE_H

#include <moegrid.h>

typedef struct {
  const MoeGrid *grid;
  PetscInt64   **queue;   /* per pair: pending replicate task ids, largest cost first */
  PetscInt64    *len, *pos;
  PetscBool     *blocked; /* per pair: waiting for its reference G-bar */
  PetscInt64    *refs;    /* pending reference tasks */
  PetscInt64     nrefs, refpos;
  PetscInt64     remaining; /* not yet handed out */
} MoeSchedule;

PETSC_EXTERN PetscErrorCode MoeScheduleCreate(const MoeGrid *, const MoeResults *, MoeSchedule **);
PETSC_EXTERN PetscErrorCode MoeScheduleDestroy(MoeSchedule **);
PETSC_EXTERN PetscInt64     MoeScheduleNext(MoeSchedule *);
PETSC_EXTERN void           MoeScheduleUnblock(MoeSchedule *, PetscInt pair);

#endif
