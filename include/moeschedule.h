/* The work queue of `moerate run` (src/grid/schedule.c). */
#ifndef MOESCHEDULE_H
#define MOESCHEDULE_H

#include <moegrid.h>

#define MOE_WANT_ALONE (-1) /* a task of an estimator that fits on one rank (sgd, em, brgn) under -fit_group auto */

typedef struct {
  const MoeGrid *grid;
  PetscInt64   **queue;   /* per pair: pending replicate task ids, largest cost first */
  PetscInt64    *len, *pos;
  PetscBool     *blocked; /* per pair: waiting for its reference G-bar */
  PetscInt64    *refs;    /* pending reference tasks */
  PetscInt64     nrefs, refpos;
  PetscInt64     remaining; /* not yet handed out */
  PetscBool     *taken;     /* per task: handed out */
  PetscInt      *want;      /* per task: the smallest group that may run it (1 unless -fit_group auto); MOE_WANT_ALONE: one rank alone */
  PetscReal      half;      /* -fit_group auto: half the fair share (expected cost units), the most a task may cost alone */
  PetscInt64    *yielded;   /* tasks handed back by a rank alone, for a group (MoeScheduleYield) */
  PetscInt64     nyielded;
} MoeSchedule;

PETSC_EXTERN PetscErrorCode MoeScheduleCreate(const MoeGrid *, const MoeResults *, MoeSchedule **);
PETSC_EXTERN PetscErrorCode MoeScheduleDestroy(MoeSchedule **);
PETSC_EXTERN PetscInt64     MoeScheduleNext(MoeSchedule *);
/* The next task for a group of `size` ranks: the largest whose wanted size is at most size (-1: none now). */
PETSC_EXTERN PetscInt64     MoeScheduleNextFor(MoeSchedule *, PetscInt size);
/* -fit_group auto: the group sizes for `workers` ranks (size[], *ngroups of them, largest first) and each
   pending task's wanted size, from the tasks' expected costs. */
PETSC_EXTERN PetscErrorCode MoeScheduleGroupLayout(MoeSchedule *, PetscInt workers, PetscInt *size, PetscInt *ngroups);
PETSC_EXTERN void           MoeScheduleUnblock(MoeSchedule *, PetscInt pair);
/* Task id, handed out before, is pending again and wants a group of at least `size` ranks: it comes
   before every replicate task (its cost is known now to be more than the model expected). */
PETSC_EXTERN PetscErrorCode MoeScheduleYield(MoeSchedule *, PetscInt64 id, PetscInt size);

#endif
