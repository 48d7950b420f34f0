/*
   Losses between a fitted mixing measure and a target (the truth G*, or the reference
   G-bar for sigmoid_d3 and for fits whose family differs from the truth's): the Voronoi
   losses of science.md, and the Monte-Carlo L2 regression error.

   Voronoi cells: atom i of the fit has omega_i = (gating location, eta_i) (the gating
   location is beta1_i; for hsoftmax (alpha1_g, beta1_gl)); it belongs to the cell A_j of
   the nearest target atom in Euclidean norm (ties: the lowest j).  Masses are sigmoid(beta0)
   (sigmoid gating) or exp(beta0) (softmax-type gatings; hsoftmax: exp(alpha0_g + beta0_gl)).
*/
#ifndef MOELOSS_H
#define MOELOSS_H

#include <moedata.h>
#include <moelosstype.h>

struct _n_MoeLossInput {
  MoeModel         model;  /* the fitted family */
  const PetscReal *theta;  /* fitted parameters (full layout) */
  MoeModel         tmodel; /* the target's family (may differ from the fit's) */
  const PetscReal *target; /* target parameters (full layout of tmodel) */
  PetscReal        r;      /* exponent of sigmoid_d2 */
  const MoeData   *eval;   /* Monte-Carlo sample with the truth's values, for l2 */
  const MoeTruth  *truth;
  const void      *ctx;    /* the loss type's context (MoeLossRegisterAtoms) */
};

PETSC_EXTERN PetscErrorCode MoeLossComputeAll(const MoeLossSet *, MoeModel, const PetscReal *theta, const MoeTruth *, const PetscReal *reference, const MoeData *eval, PetscReal *values);

/* The atoms of a mixing measure and the Voronoi cells of a fit around a target. */
typedef struct {
  PetscInt   k, kstar, nloc, ne;
  PetscReal *loc, *b0, *eta;    /* fitted atoms */
  PetscReal *tloc, *tb0, *teta; /* target atoms */
  PetscInt  *cell;              /* cell[i] = j: fitted atom i is in A_j */
  PetscInt  *size;              /* size[j] = |A_j| */
} MoeVoronoi;

PETSC_EXTERN PetscErrorCode MoeVoronoiCreate(const MoeLossInput *, MoeVoronoi *);
PETSC_EXTERN PetscErrorCode MoeVoronoiDestroy(MoeVoronoi *);
PETSC_EXTERN PetscReal      MoeDist(PetscInt n, const PetscReal *a, const PetscReal *b);

#endif
