/* The records of the tasks (moegrid.h): the field table, a pending record, the fit's outcome. */
#include <moegrid.h>

static const MoeRecordField fields[] = {
#define MOE_RECORD_ROW(ctype, name, kind, meaning) {#name, offsetof(MoeRecord, name), kind, meaning},
  MOE_RECORD_FIELDS(MOE_RECORD_ROW)
#undef MOE_RECORD_ROW
};

void MoeRecordFields(PetscInt *n, const MoeRecordField **f)
{
  *n = (PetscInt)(sizeof(fields) / sizeof(fields[0]));
  *f = fields;
}

/* Whether record r is task r->id of the grid (its identity fields; not its result). */
PetscBool MoeRecordIsTask(const MoeGrid *G, const MoeRecord *r)
{
  const MoeTask *t;

  if (r->id < 0 || r->id >= G->ntasks) return PETSC_FALSE;
  t = &G->tasks[r->id];
  return (PetscBool)(r->kind == t->kind && r->gating == t->gating && r->expert == t->expert && r->estimator == t->estimator && r->n == t->n && r->replicate == t->replicate && r->restart == t->restart && r->p == G->pairs[t->pair].p);
}

/* A pending record of task id: what the grid says of it, no result yet. */
void MoeRecordInit(const MoeGrid *G, PetscInt64 id, MoeRecord *r)
{
  const MoeTask *t = &G->tasks[id];

  memset(r, 0, sizeof(*r));
  r->id        = t->id;
  r->kind      = (int32_t)t->kind;
  r->gating    = (int32_t)t->gating;
  r->expert    = (int32_t)t->expert;
  r->estimator = (int32_t)t->estimator;
  r->n         = t->n;
  r->replicate = t->replicate;
  r->restart   = (int32_t)t->restart;
  r->p         = (int32_t)G->pairs[t->pair].p;
  r->rank      = -1;
  r->seed      = MoeStreamSeed(G->spec->seed, t->kind == MOE_TASK_REFERENCE ? MOE_STREAM_REFERENCE : MOE_STREAM_X, t->n, t->replicate, 0);
  r->objective = r->gradient_norm = r->wall_time = MOE_NAN;
  r->ref_objective = r->gap = r->gradient_z = r->weak_sd = MOE_NAN;
}

void MoeRecordSetFit(MoeRecord *rec, const MoeFitResult *res, const MoeCertificate *cert)
{
  rec->status        = (int32_t)res->status;
  rec->reason        = (int32_t)res->reason;
  rec->iterations    = (int32_t)res->iterations;
  rec->start         = (int32_t)res->start;
  rec->objective     = res->objective;
  rec->gradient_norm = res->gnorm;
  rec->gradient_z    = res->gradient_z;
  if (!cert) return;
  rec->ref_objective = cert->ref_objective;
  rec->gap           = cert->gap;
  rec->certified     = (int32_t)cert->certified;
  rec->starts_used   = (int32_t)cert->starts_used;
}
