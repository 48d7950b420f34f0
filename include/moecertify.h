/*
   Certify: is a fit the estimator the theory is about?

   The least-squares estimator minimises the objective over the fitted family; a point of
   that family whose objective on the same data is known bounds it from above.  The
   reference point is the truth G* embedded in the k fitted atoms when the fit has the
   truth's families (its objective is the truth's own, (1/2n) sum eps_r^2), and the
   reference G-bar of the fitted families otherwise.  The gap

       gap = 2n/nu (f_fit - f_ref)

   is in units of one standard error of movement (moving a parameter by its standard error
   changes f by about nu/(2n)); the least-squares estimate has gap about -p (chi-square).
   A fit is certified when gap <= -certify_tol.  An uncertified fit gets further starts:
   the reference point itself, then more near starts, until one is certified or
   -certify_starts starts have run; the best is kept.
*/
#ifndef MOECERTIFY_H
#define MOECERTIFY_H

#include <moefit.h>

typedef struct {
  PetscReal ref_objective; /* objective of the reference point on the fit's data */
  PetscReal gap;           /* 2n/nu (f_fit - f_ref); NaN when there is no reference */
  PetscBool certified;
  PetscInt  starts_used;
} MoeCertificate;

/* The best of -init_starts fits by solver from the starts of stream (n, replicate) near target. */
PETSC_EXTERN PetscErrorCode MoeCertifyBestOfStarts(const MoeSolver *, const MoeFitParams *, const MoeInitParams *, MoeModel, const MoeTruth *target, const MoeData *, MoeStream, PetscInt64 n, PetscInt64 replicate, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *);
/* The certificate of fit r with reference objective fref on n points. */
PETSC_EXTERN void           MoeCertifyAssess(const MoeSpec *, MoeModel, PetscInt n, const MoeFitResult *, PetscReal fref, MoeCertificate *);
/* The solver's objective at the reference point (the truth, or G-bar for other families) on D. */
PETSC_EXTERN PetscErrorCode MoeCertifyReferenceObjective(const MoeSolver *, MoeModel, const MoeTruth *, const PetscReal *gbar, const MoeData *, PetscReal *fref);
/* The smallest sigma a certified fit may have: a tenth of the truth's (or G-bar's) smallest; 0 for the
   regression model.  Below it a fit is a degenerate spike of the unbounded likelihood, not the estimator. */
PETSC_EXTERN PetscErrorCode MoeCertifySigmaFloor(MoeModel, const MoeTruth *, const PetscReal *gbar, PetscReal *floor);
/* A replicate's certified fit by an estimator's solver (restart: which family of starts, 0 the replicate's own). */
PETSC_EXTERN PetscErrorCode MoeCertifiedFit(const MoeSolver *, const MoeFitParams *, const MoeSpec *, MoeModel, const MoeTruth *, const PetscReal *gbar, const MoeData *, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *, MoeCertificate *);

/* G-bar is identified when its noise-free objective is visible at the largest n (at least
   noise/(2 n_max): otherwise the fitted family reproduces the truth and G-bar is a set) and
   its Fisher information is not singular at the scale of the data (sd along its weakest
   direction at most -truth_max_sd at the largest n).  sd receives that sd at the smallest
   n; why[] says which check failed. */
PETSC_EXTERN PetscErrorCode MoeCertifyReference(const MoeSpec *, MoeModel, const MoeTruth *, const PetscReal *gbar, PetscReal objective, PetscReal *sd, PetscBool *identified, char why[], size_t);

#endif
