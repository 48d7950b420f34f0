/* Messages between the master and the workers of `moerate run`.
     TASK   master -> worker  int64 task id
     REF    master -> worker  int64 pair, then pmax doubles: the pair's G-bar (before its first task)
     STOP   master -> worker  empty: abandon the fit in progress and the queued tasks
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
  MOE_TAG_RESULT = 15
};

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
