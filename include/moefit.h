/*
   Fit: the least-squares estimator argmin_G (1/2n) sum_r (Y_r - f_G(X_r))^2 computed with
   PETSc/TAO on PETSC_COMM_SELF.

   Two routes, chosen by the TAO type:
   The fit reads its settings from a MoeFitParams (moespec.h), starts from the point it is given
   and returns where it stopped: starts and multi-start are the certification's (moecertify.h).

   - any TAO type but brgn/pounders (default: bntr, a trust-region Newton method with
     Steihaug CG preconditioned by diag(J^T J)): objective, gradient J^T r / n and the
     Gauss-Newton Hessian J^T J / n are accumulated over row blocks of J (-fit_block rows at
     a time, dsyrk/dgemv), so memory does not grow with n*p.  Line-search types (bnls, nls)
     get the Levenberg-Marquardt damping lambda diag(J^T J) of TAOBRGN's "lm" regulariser.
   - -tao_type brgn (or pounders): TAO's own least-squares solver on the residual vector
     with the n x p Jacobian stored densely (memory n*p*8 bytes).
*/
#ifndef MOEFIT_H
#define MOEFIT_H

#include <moedata.h>
#include <petsctao.h>

typedef enum {
  MOE_FIT_PENDING   = 0,
  MOE_FIT_CONVERGED = 1,
  MOE_FIT_FAILED    = 2,
  MOE_FIT_SKIPPED   = 3
} MoeFitStatus;
PETSC_EXTERN const char *const MoeFitStatuses[];

/* reason: a TaoConvergedReason, or this code when PETSc raised an error inside the solve
   (Inf/NaN in a residual, a failed factorisation, ...). */
#define MOE_REASON_ERROR (-100)
/* reason of a fit whose parameters left the box |theta|_inf <= -fit_max_norm: the least-squares
   objective decreases towards a limit at infinity (it has no minimiser near the start) */
#define MOE_REASON_UNBOUNDED (-101)
/* reason of a fit that stopped on the objective-decrease test while its gradient was still
   above -fit_max_gradient_z times its statistical scale: a stall, not a minimiser */
#define MOE_REASON_STALLED (-102)
/* reason of an SGD fit that ran its -sgd_epochs (SGD has no convergence test) */
#define MOE_REASON_EPOCHS 100

typedef struct {
  MoeFitStatus status;
  PetscInt     reason;
  PetscInt     iterations;
  PetscInt     start;     /* the start kept (multi-start) */
  PetscReal    objective; /* (1/2n) sum r^2 */
  PetscReal    gnorm;     /* norm of the gradient of the objective */
  PetscReal    gradient_z; /* CONVERGED_FTOL fits: max_j |g_j| / sqrt(nu H_jj / n), the gradient in units of its
                              statistical scale at the end; else NaN */
  PetscReal    time;      /* wall time of the fit(s), seconds */
  char         message[256];
} MoeFitResult;

/* P1's minibatch SGD (src/fit/sgd.c): the sgd estimator's settings. */
typedef struct {
  PetscInt  epochs, batch;
  PetscReal lr;
  PetscInt  seed;
} MoeSGDParams;

PETSC_EXTERN const char *MoeFitReasonString(PetscInt reason);
PETSC_EXTERN PetscErrorCode MoeFitSolve(const MoeFitParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
/* P1's minibatch SGD from theta0 (src/fit/sgd.c); (n, replicate) name the batch order's stream. */
PETSC_EXTERN PetscErrorCode MoeFitSGD(const MoeSGDParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscInt64 n, PetscInt64 replicate, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
PETSC_EXTERN PetscErrorCode MoeFitObjective(MoeModel, const MoeData *, const PetscReal *theta, PetscReal *f);
PETSC_EXTERN PetscErrorCode MoeFitCheckOptions(MoeModel, const char prefix[], PetscBool grouped);
/* A check made at every TAO iteration; when it returns true the fit stops and its result
   is MOE_FIT_PENDING (the task is abandoned, to be run again). */
PETSC_EXTERN PetscErrorCode MoeFitSetInterrupt(PetscBool (*)(void *), void *);
PETSC_EXTERN PetscBool      MoeFitInterrupted(void);
PETSC_EXTERN PetscBool      MoeFitInterruptSet(void);
/* A TAO monitor that stops the solve when the interrupt check says so (ctx: a PetscBool set then). */
PETSC_EXTERN PetscErrorCode MoeFitInterruptMonitor(Tao, void *);
/* Maximum likelihood for the Gaussian MoE (src/fit/mle.c): res->objective is -(1/n) sum log p. */
PETSC_EXTERN PetscErrorCode MoeFitMLE(const MoeFitParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
/* The same likelihood maximised by EM (src/fit/em.c; -em_max_it iterations at most). */
PETSC_EXTERN PetscErrorCode MoeFitEM(const MoeFitParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
/* A fit from theta0 by solve, through an annealed top-K selection when the model has one (mle.c). */
typedef PetscErrorCode (*MoeFitSolver)(const MoeFitParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
PETSC_EXTERN PetscErrorCode MoeFitAnnealed(MoeFitSolver, const MoeFitParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
PETSC_EXTERN PetscErrorCode MoeFitNegLogLikelihood(MoeModel, const MoeData *, const PetscReal *theta, PetscReal *f);

/* How an estimator is computed from one start, and the objective it minimises (on which its certificate
   compares the fit with a reference point): what the certification's multi-start loop (moecertify.h)
   takes from an estimator.  ctx is the estimator's own (its settings). */
typedef struct {
  PetscErrorCode (*solve)(const void *ctx, const MoeFitParams *, MoeModel, const MoeData *, const PetscReal *theta0, PetscBool inject_nan, PetscReal *theta, MoeFitResult *);
  PetscErrorCode (*objective)(MoeModel, const MoeData *, const PetscReal *theta, PetscReal *f);
  const void *ctx;
  /* a certified fit is the estimator even when its solver stopped short of a stationary point (an
     iteration cap, a failed line search): the likelihood theory's rates hold for any estimate whose
     likelihood is at least the truth's */
  PetscBool certificate_suffices;
} MoeSolver;

/* Least squares by MoeFitSolve (its options prefix from the MoeFitParams): the lse estimator's solver, and
   the one that computes the reference G-bar. */
PETSC_EXTERN const MoeSolver MoeSolverLeastSquares;

#endif
