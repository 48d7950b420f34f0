/*
   Internals of the least-squares fit (as PETSc keeps include/petsc/private/): the context the TAO
   callbacks share, and the pieces of the two routes (moefit.h): src/fit/gaussnewton.c (objective,
   gradient and Gauss-Newton Hessian accumulated over blocks of rows), src/fit/stored.c (residual and
   stored Jacobian for TAOBRGN and POUNDERS), src/fit/tao.c (the TAO object and its defaults), and
   src/fit/fit.c, which wires them for one fit.
*/
#ifndef MOE_PRIVATE_FITIMPL_H
#define MOE_PRIVATE_FITIMPL_H

#include <moefit.h>

typedef struct {
  MoeModel       m;
  const MoeData *D;
  PetscReal     *theta; /* full parameter vector at the current point */
  PetscInt       B;     /* rows per block */
  PetscInt       hrows; /* rows of the Gauss-Newton Hessian: the first hrows (the rows are iid draws) */
  PetscInt       reuse; /* form the Hessian at most once per `reuse` iterations */
  PetscInt       hits, hrows_formed; /* iteration and rows of the Hessian last formed (-1: none) */
  PetscReal     *Jb;    /* B x pfree block of J, row-major */
  PetscReal     *rb;    /* B residuals */
  PetscReal     *row;   /* one full Jacobian row */
  PetscBool      blocks; /* evaluate blocks of rows through BLAS (MoeModelHasBlocks) */
  PetscBool      single; /* the Gauss-Newton Hessian in single precision */
  float         *Jf, *Hf; /* its J block and chunk sum */
  PetscReal     *Hwork, *Hpacked; /* a chunked sample's Hessian: a chunk's term, and the packed upper triangles' sum */
  PetscReal     *Cb;    /* B rows of the block factors */
  PetscReal     *gfull; /* the gradient in the full layout */
  PetscReal     *fg;    /* the objective and the gradient (free entries) of an evaluation */
  PetscBool      lm;    /* Levenberg-Marquardt damping of the Gauss-Newton Hessian */
  PetscReal      lambda, lambda_min, down, up, fold;
  PetscBool      inject_nan;
  /* objective-decrease test, and the box the parameters must stay in */
  PetscReal  ftol, max_norm;
  PetscBool  unbounded;
  PetscInt   window, wstart; /* the decrease test looks back `window` iterations, not before wstart */
  PetscReal *fhist;
  /* stored-Jacobian route */
  PetscReal *xjac; /* the point at which J was last formed */
  PetscBool  jvalid;
} MoeFitCtx;

/* fit.c */
PETSC_EXTERN PetscBool MoeFitDecreaseStalled(PetscReal *fhist, PetscInt window, PetscInt wstart, PetscInt its, PetscReal f, PetscReal drop);
/* gaussnewton.c */
PETSC_EXTERN PetscErrorCode MoeFitSetPoint(MoeFitCtx *, Vec X);
PETSC_EXTERN PetscErrorCode MoeFitSetUpGaussNewton(Tao, MoeFitCtx *, Mat *H);
PETSC_EXTERN PetscErrorCode MoeFitGradientZ(MoeFitCtx *, PetscReal noise, PetscReal *z);
/* stored.c */
PETSC_EXTERN PetscErrorCode MoeFitSetUpStored(Tao, MoeFitCtx *, Vec *R, Mat *J);
/* tao.c */
PETSC_EXTERN PetscErrorCode MoeFitCreateTao(MoeModel, const char prefix[], Tao *, PetscBool *stored);
PETSC_EXTERN PetscErrorCode MoeFitTaoStart(Tao, MoeModel, const PetscReal *theta0, Vec *x, Vec *lo, Vec *hi);
PETSC_EXTERN PetscErrorCode MoeFitTaoMonitorInterrupt(Tao, PetscBool *interrupted);
PETSC_EXTERN PetscErrorCode MoeFitTaoSolution(Tao, MoeModel, const PetscReal *theta0, PetscReal *theta);
PETSC_EXTERN PetscErrorCode MoeFitTaoDefaultTest(Tao, PetscBool *go_on);

#endif
