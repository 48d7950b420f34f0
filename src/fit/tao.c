/* The TAO objects of the fits: a least-squares fit's, with moerate's defaults, then the user's options (with an
   estimator's prefix), and their check before any work starts; and what every fit does with its TAO (the
   start and the bounds, the stop on request, the solution read back), the likelihood's too. */
#include <moe/private/fitimpl.h>

/* "-" prefix name, e.g. -brgn_tao_type, for an options prefix (NULL: none). */
static void OptionName(const char prefix[], const char name[], char *buf, size_t len)
{
  snprintf(buf, len, "-%s%s", prefix ? prefix : "", name);
}

/* Defaults for TAOBRGN that the user did not set: the dense Levenberg-Marquardt setup. */
static PetscErrorCode SetBRGNDefaults(const char prefix[])
{
  const char *defaults[][2] = {
    {"tao_brgn_regularization_type",       "lm"         },
    {"tao_brgn_mat_explicit",              "1"          },
    {"tao_brgn_subsolver_tao_ls_type",     "more-thuente"},
    {"tao_brgn_subsolver_tao_bnk_ksp_type", "preonly"    },
    {"tao_brgn_subsolver_tao_bnk_pc_type",  "cholesky"   },
  };
  size_t    i;
  PetscBool set;

  PetscFunctionBegin;
  for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
    char name[128];
    OptionName(prefix, defaults[i][0], name, sizeof(name));
    PetscCall(PetscOptionsHasName(NULL, NULL, name, &set));
    if (!set) PetscCall(PetscOptionsSetValue(NULL, name, defaults[i][1]));
  }
  PetscFunctionReturn(0);
}

/* A Tao for model m with moerate's defaults, then the user's options.  Default: TAOBNTR,
   a trust-region Newton method, on the Gauss-Newton Hessian, with the trust-region
   subproblem solved by Steihaug CG preconditioned by diag(J^T J): a Levenberg-Marquardt
   method with Marquardt's scaling.  prefix: the options prefix of an estimator's own TAO (NULL: -tao_...). */
PetscErrorCode MoeFitCreateTao(MoeModel m, const char prefix[], Tao *tao, PetscBool *stored)
{
  KSP       ksp;
  PC        pc;
  PetscBool isbrgn, ispounders, set;
  char      type[64], name[128];

  PetscFunctionBegin;
  PetscCall(TaoCreate(PETSC_COMM_SELF, tao));
  if (prefix) PetscCall(TaoSetOptionsPrefix(*tao, prefix));
  PetscCall(TaoSetType(*tao, TAOBNTR));
  PetscCall(TaoSetTolerances(*tao, 1e-10, 1e-10, 0.0));
  PetscCall(TaoSetMaximumIterations(*tao, 1000));
  PetscCall(TaoSetMaximumFunctionEvaluations(*tao, 100000));
  PetscCall(TaoGetKSP(*tao, &ksp));
  PetscCall(KSPSetType(ksp, KSPSTCG));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, PCJACOBI));
  OptionName(prefix, "tao_type", name, sizeof(name));
  PetscCall(PetscOptionsGetString(NULL, NULL, name, type, sizeof(type), &set));
  if (set) { /* another type: its own defaults, except dense Cholesky for line-search Newton */
    PetscBool isls = PETSC_FALSE;
    PetscCall(TaoSetType(*tao, type));
    PetscCall(PetscStrcmp(type, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(SetBRGNDefaults(prefix));
    for (const char *const *t = (const char *const[]){TAOBNLS, TAONLS, NULL}; *t; t++) {
      PetscBool same;
      PetscCall(PetscStrcmp(type, *t, &same));
      isls = (PetscBool)(isls || same);
    }
    if (isls) {
      PetscCall(TaoGetKSP(*tao, &ksp));
      PetscCall(KSPSetType(ksp, KSPPREONLY));
      PetscCall(KSPGetPC(ksp, &pc));
      PetscCall(PCSetType(pc, PCCHOLESKY));
    }
  }
  PetscCall(TaoSetFromOptions(*tao));
  PetscCall(PetscObjectTypeCompare((PetscObject)*tao, TAOBRGN, &isbrgn));
  PetscCall(PetscObjectTypeCompare((PetscObject)*tao, TAOPOUNDERS, &ispounders));
  *stored = (PetscBool)(isbrgn || ispounders);
  PetscFunctionReturn(0);
}

/* Validate the TAO options of a least-squares fit (options prefix: NULL, or an estimator's own) before
   any work starts: a bad -tao_type is a user error. */
PetscErrorCode MoeFitCheckOptions(MoeModel m, const char prefix[], PetscBool grouped)
{
  Tao            tao;
  PetscBool      stored;
  PetscErrorCode ierr;
  char           type[64] = "", name[128];

  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = MoeFitCreateTao(m, prefix, &tao, &stored);
  PetscCall(PetscPopErrorHandler());
  OptionName(prefix, "tao_type", name, sizeof(name));
  PetscCall(PetscOptionsGetString(NULL, NULL, name, type, sizeof(type), NULL));
  MoeUserCheck(!ierr, "the TAO options are not valid (%s '%s'?): see the TAO types in -help, e.g. bnls, bntr, brgn, lmvm", name, type);
  /* TAO's own least squares takes every residual in one vector: no group spreads its rows */
  MoeUserCheck(!stored || !grouped, "-fit_group with %s %s: TAO's own least squares needs every row on one rank: use moerate's Gauss-Newton route (the default type, or bntl, bnls, nls) or drop -fit_group", name, type);
  PetscCall(TaoDestroy(&tao));
  PetscFunctionReturn(0);
}

/* The start x and, where the model has them (a fitted temperature), the lower bounds lo (hi: none). */
PetscErrorCode MoeFitTaoStart(Tao tao, MoeModel m, const PetscReal *theta0, Vec *x, Vec *lo, Vec *hi)
{
  PetscScalar *xa;
  PetscReal   *lower;
  PetscInt     j;

  PetscFunctionBegin;
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, m->pfree, x));
  PetscCall(VecGetArrayWrite(*x, &xa));
  PetscCall(MoeModelFullToFree(m, theta0, xa));
  PetscCall(VecRestoreArrayWrite(*x, &xa));
  PetscCall(TaoSetSolution(tao, *x));
  PetscCall(PetscMalloc1(m->p, &lower));
  PetscCall(MoeModelLowerBounds(m, lower));
  for (j = 0; j < m->pfree; j++)
    if (lower[m->ifree[j]] != PETSC_NINFINITY) break;
  if (j < m->pfree) {
    PetscCall(VecDuplicate(*x, lo));
    PetscCall(VecDuplicate(*x, hi));
    PetscCall(VecGetArrayWrite(*lo, &xa));
    for (j = 0; j < m->pfree; j++) xa[j] = lower[m->ifree[j]];
    PetscCall(VecRestoreArrayWrite(*lo, &xa));
    PetscCall(VecSet(*hi, PETSC_INFINITY));
    PetscCall(TaoSetVariableBounds(tao, *lo, *hi));
  }
  PetscCall(PetscFree(lower));
  PetscFunctionReturn(0);
}

/* Stop requests stop the solve between iterations.  TAOBRGN hands its monitors to its subsolver as PETSc
   objects (it takes a reference to their contexts), so a plain context goes to the subsolver directly. */
PetscErrorCode MoeFitTaoMonitorInterrupt(Tao tao, PetscBool *interrupted)
{
  Tao       mon = tao;
  PetscBool isbrgn;

  PetscFunctionBegin;
  if (!MoeFitInterruptSet()) PetscFunctionReturn(0);
  PetscCall(PetscObjectTypeCompare((PetscObject)tao, TAOBRGN, &isbrgn));
  if (isbrgn) PetscCall(TaoBRGNGetSubsolver(tao, &mon));
  PetscCall(TaoSetMonitor(mon, MoeFitInterruptMonitor, interrupted, NULL));
  PetscFunctionReturn(0);
}

/* theta: where tao stopped, in the full layout (the pinned entries from theta0). */
PetscErrorCode MoeFitTaoSolution(Tao tao, MoeModel m, const PetscReal *theta0, PetscReal *theta)
{
  Vec                xs;
  const PetscScalar *xr;

  PetscFunctionBegin;
  PetscCall(TaoGetSolution(tao, &xs));
  PetscCall(VecGetArrayRead(xs, &xr));
  PetscCall(PetscArraycpy(theta, theta0, m->p));
  PetscCall(MoeModelFreeToFull(m, xr, theta));
  PetscCall(VecRestoreArrayRead(xs, &xr));
  PetscFunctionReturn(0);
}

/* TAO's own tests (gradient tolerances, iteration and evaluation caps), which a convergence test of
   moerate's runs first; *go_on when none of them stopped the solve. */
PetscErrorCode MoeFitTaoDefaultTest(Tao tao, PetscBool *go_on)
{
  TaoConvergedReason reason;

  PetscFunctionBegin;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  *go_on = (PetscBool)(reason == TAO_CONTINUE_ITERATING);
  PetscFunctionReturn(0);
}
