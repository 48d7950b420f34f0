/* The stored-Jacobian route of the least-squares fit (TAOBRGN, TAOPOUNDERS): the residual vector r / sqrt(n)
   and the dense Jacobian J / sqrt(n), for TAO's own least-squares solvers. */
#include <moe/private/fitimpl.h>

static PetscErrorCode FormResidual(Tao tao, Vec X, Vec R, void *ctx)
{
  MoeFitCtx   *c = (MoeFitCtx *)ctx;
  PetscScalar *r;
  PetscInt     i;
  PetscReal    s = 1.0 / PetscSqrtReal((PetscReal)c->D->n);

  PetscFunctionBegin;
  PetscCall(MoeFitSetPoint(c, X));
  PetscCall(VecGetArrayWrite(R, &r));
  for (i = 0; i < c->D->n; i++) {
    PetscReal f;
    PetscCall(MoeModelEvaluate(c->m, c->theta, c->D->X + (size_t)i * c->D->d, &f));
    r[i] = s * (f - c->D->Y[i]);
  }
  if (c->inject_nan) r[0] = MOE_NAN;
  PetscCall(VecRestoreArrayWrite(R, &r));
  PetscFunctionReturn(0);
}

/* TAOBRGN asks for J twice at the same point: keep it. */
static PetscErrorCode FormJacobian(Tao tao, Vec X, Mat J, Mat Jpre, void *ctx)
{
  MoeFitCtx         *c = (MoeFitCtx *)ctx;
  const PetscScalar *x;
  PetscScalar       *a;
  PetscInt           i, j, n = c->D->n, pf = c->m->pfree;
  PetscReal          s = 1.0 / PetscSqrtReal((PetscReal)n);
  PetscBool          same;

  PetscFunctionBegin;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(PetscArraycmp(x, c->xjac, pf, &same));
  if (!(same && c->jvalid)) PetscCall(PetscArraycpy(c->xjac, x, pf));
  PetscCall(VecRestoreArrayRead(X, &x));
  if (same && c->jvalid) PetscFunctionReturn(0);
  PetscCall(MoeFitSetPoint(c, X));
  PetscCall(MatDenseGetArrayWrite(J, &a));
  for (i = 0; i < n; i++) {
    PetscReal f;
    PetscCall(MoeModelEvaluateRow(c->m, c->theta, c->D->X + (size_t)i * c->D->d, &f, c->row));
    for (j = 0; j < pf; j++) a[i + (size_t)j * n] = s * c->row[c->m->ifree[j]];
  }
  PetscCall(MatDenseRestoreArrayWrite(J, &a));
  c->jvalid = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* The stored-Jacobian route on tao: r / sqrt(n) into R and J / sqrt(n) into the dense n x pfree J (created here). */
PetscErrorCode MoeFitSetUpStored(Tao tao, MoeFitCtx *c, Vec *R, Mat *J)
{
  PetscFunctionBegin;
  PetscCall(PetscMalloc1(c->m->pfree, &c->xjac));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, c->D->n, R));
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, c->D->n, c->m->pfree, NULL, J));
  PetscCall(TaoSetResidualRoutine(tao, *R, FormResidual, c));
  PetscCall(TaoSetJacobianResidualRoutine(tao, *J, *J, FormJacobian, c));
  PetscFunctionReturn(0);
}
