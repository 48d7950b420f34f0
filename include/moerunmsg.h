/* Messages between the master and the workers of `moerate run`.
     TASK   master -> worker  int64 task id
     REF    master -> worker  int64 pair, then pmax doubles: the pair's G-bar (before its first task)
     STOP   master -> worker  empty: abandon the fit in progress and the queued tasks
     YIELD  master -> worker  int64 task id: hand that fit back if it is still running (a rank alone,
                              -fit_group_yield); sent back pending with reason MOE_REASON_YIELDED
     EXIT   master -> worker  empty: leave
     RESULT worker -> master  MoeRecord, nlosses doubles, pmax doubles (status pending: abandoned) */
#ifndef MOERUNMSG_H
#define MOERUNMSG_H

#include <moerun.h>

enum {
  MOE_TAG_TASK   = 11,
  MOE_TAG_REF    = 12,
  MOE_TAG_STOP   = 13,
  MOE_TAG_EXIT   = 14,
  MOE_TAG_RESULT = 15,
  MOE_TAG_YIELD  = 16
};

/* The reason of a record sent back pending because the master asked for the fit (MOE_TAG_YIELD):
   only in messages, never stored. */
#define MOE_REASON_YIELDED (-103)

static inline size_t MoeResultMessageSize(const MoeGrid *G)
{
  return sizeof(MoeRecord) + sizeof(PetscReal) * (size_t)(G->spec->nlosses + G->pmax);
}

static inline size_t MoeRefMessageSize(const MoeGrid *G)
{
  return sizeof(PetscInt64) + sizeof(PetscReal) * (size_t)G->pmax;
}

PETSC_EXTERN PetscErrorCode MoeExecutorSetOptions(MoeExecutor, const MoeRunOptions *);

#endif
