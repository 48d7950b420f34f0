/*
   The registry of loss types.  A loss type is a family like the gatings and experts: its file
   (src/loss/<name>.c) registers its name, what it is measured against, whether it is a
   Voronoi loss (then the gating families that declare it are the ones it applies to) and
   its meaning; src/loss/register.c lists the files.  Every room may consult the registry
   (the spec validates -losses with it); computing a loss is the losses step (moeloss.h).
*/
#ifndef MOELOSSTYPE_H
#define MOELOSSTYPE_H

#include <moemodel.h>

typedef struct _n_MoeLossInput MoeLossInput;
typedef PetscErrorCode (*MoeLossFn)(const MoeLossInput *, PetscReal *);

/* What a loss compares the fit with. */
typedef enum {
  MOE_LOSS_FUNCTION,  /* the true regression function f_G* (l2_truth) */
  MOE_LOSS_ATOMS,     /* G* (its atoms, or its function for l2) when the fit has the truth's families, else G-bar */
  MOE_LOSS_REFERENCE  /* the atoms of the reference G-bar (sigmoid_d3) */
} MoeLossTarget;
PETSC_EXTERN const char *const MoeLossTargets[];

typedef struct {
  const char   *name;
  MoeLossFn     compute;
  MoeLossTarget target;
  PetscBool     voronoi; /* a Voronoi loss: applies to fits of the gating families that declare it */
  const char   *meaning;
  PetscBool     optin;   /* computed only when -losses names it (never by auto) */
  PetscBool     atoms;   /* compares parameters (atoms), not regression functions */
  const void   *ctx;     /* what a loss file registering several losses with one function tells them apart by */
} MoeLossType;

/* The losses computed for the fits of one (gating, expert) pair: made from the spec by
   MoeSpecPairLosses, read by MoeLossComputeAll. */
typedef struct {
  PetscInt           n;
  const MoeLossType *type[MOE_MAX_FAMILIES];
  PetscBool          applies[MOE_MAX_FAMILIES]; /* to the pair's gating family */
  PetscBool          totruth[MOE_MAX_FAMILIES]; /* measured against G* (else G-bar) */
  PetscReal          r;                         /* exponent of sigmoid_d2 */
} MoeLossSet;

PETSC_EXTERN PetscErrorCode MoeLossRegister(const char[], MoeLossFn, MoeLossTarget, PetscBool voronoi, const char meaning[]);
PETSC_EXTERN PetscErrorCode MoeLossRegisterOptIn(const char[], MoeLossFn, MoeLossTarget, const char meaning[]);
/* A parameter loss of every fitted gating, chosen by -losses auto, with a context the function reads as in->ctx. */
PETSC_EXTERN PetscErrorCode MoeLossRegisterOptInContext(const char[], MoeLossFn, const void *ctx, const char meaning[]);
PETSC_EXTERN PetscErrorCode MoeLossRegisterAtoms(const char[], MoeLossFn, const void *ctx, const char meaning[]);
PETSC_EXTERN PetscErrorCode MoeLossRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeLossGet(const char[], const MoeLossType **);
PETSC_EXTERN PetscErrorCode MoeLossNames(PetscInt *, const char *const **);
PETSC_EXTERN PetscErrorCode MoeLossTypesString(char *, size_t);
/* The gating families that declare a Voronoi loss, as a comma list ("every gating" otherwise). */
PETSC_EXTERN PetscErrorCode MoeLossGatingFamilies(const char loss[], char *, size_t);

#endif
