/* Errors per Voronoi cell and per parameter block, which the summed Voronoi losses mix.

   Cells A_j are those of the other Voronoi losses (omega_i = (gating location, eta_i), eta with
   sigma for the Gaussian MoE, around the atoms of G*, or of G-bar for a fit of other families).
   A cell with one atom is exactly specified, a cell with several is over-specified (P2: its
   atoms converge at n^-1/4 against n^-1/2 for the exact ones).  An atom's weight is the mass of
   P2's loss, w_i = exp(beta0_i) for softmax-type gatings and sigmoid(beta0_i) for sigmoid gating.

     cells_exact = mean over cells with |A_j| = 1 of |omega_i - omega*_j|
     cells_over  = mean over cells with |A_j| > 1 of sqrt(sum_{A_j} w_i |omega_i - omega*_j|^2 / sum_{A_j} w_i)
     cells_mass  = mean over all cells of |sum_{A_j} w_i - w*_j|   (an empty cell pays w*_j)

   and, within each cell type, the same with omega replaced by one parameter block (beta1: the
   gating location; a; b; sigma) and the cell mass errors (mass).  NaN where a fit has no cell of
   the type (cells_over of an exactly specified fit) or the model has no such block (a of
   constant experts, sigma outside the Gaussian MoE).  The weighting keeps an atom whose weight
   vanishes, and whose parameters the data then leave free, from deciding the cell's error.

   For a gating with parts (the shared experts: shared and routed atoms), cells_shared_* and
   cells_routed_* take only the cells of one part's true atoms (opt-in; NaN for other gatings). */
#include <moeloss.h>

typedef enum {
  CELLS_EXACT,
  CELLS_OVER,
  CELLS_ALL
} CellKind;

typedef enum {
  BLOCK_OMEGA,
  BLOCK_BETA1,
  BLOCK_A,
  BLOCK_B,
  BLOCK_SIGMA,
  BLOCK_MASS
} Block;

typedef struct {
  const char *name;
  CellKind    kind;
  Block       block;
  const char *meaning;
  PetscInt    part; /* the cells of the true atoms of this part only (MoeModelAtomPart); -1: every cell */
} CellsLoss;

static const CellsLoss losses[] = {
  {"cells_exact", CELLS_EXACT, BLOCK_OMEGA, "mean over the exactly specified Voronoi cells (one atom) of |omega_i - omega*_j|, omega = (beta1, eta)", -1},
  {"cells_over", CELLS_OVER, BLOCK_OMEGA, "mean over the over-specified Voronoi cells (several atoms) of the weighted error sqrt(sum w_i |omega_i - omega*_j|^2 / sum w_i), w = exp(beta0) (softmax-type) or sigmoid(beta0)", -1},
  {"cells_mass", CELLS_ALL, BLOCK_MASS, "mean over the Voronoi cells of the mass error |sum_{A_j} w_i - w*_j|", -1},
  {"cells_exact_beta1", CELLS_EXACT, BLOCK_BETA1, "cells_exact of the gating slopes beta1 alone", -1},
  {"cells_exact_a", CELLS_EXACT, BLOCK_A, "cells_exact of the experts' a alone", -1},
  {"cells_exact_b", CELLS_EXACT, BLOCK_B, "cells_exact of the experts' b alone", -1},
  {"cells_exact_sigma", CELLS_EXACT, BLOCK_SIGMA, "cells_exact of the experts' sigma alone (Gaussian MoE)", -1},
  {"cells_exact_mass", CELLS_EXACT, BLOCK_MASS, "mass error |w_i - w*_j| averaged over the exactly specified cells", -1},
  {"cells_over_beta1", CELLS_OVER, BLOCK_BETA1, "cells_over of the gating slopes beta1 alone", -1},
  {"cells_over_a", CELLS_OVER, BLOCK_A, "cells_over of the experts' a alone", -1},
  {"cells_over_b", CELLS_OVER, BLOCK_B, "cells_over of the experts' b alone", -1},
  {"cells_over_sigma", CELLS_OVER, BLOCK_SIGMA, "cells_over of the experts' sigma alone (Gaussian MoE)", -1},
  {"cells_over_mass", CELLS_OVER, BLOCK_MASS, "mass error |sum_{A_j} w_i - w*_j| averaged over the over-specified cells", -1},
};

/* Per part (opt-in): the shared and the routed atoms of the shared-expert gating. */
static const CellsLoss part_losses[] = {
  {"cells_shared_exact", CELLS_EXACT, BLOCK_OMEGA, "cells_exact over the cells of the true shared experts (shared-expert gating)", 0},
  {"cells_shared_over", CELLS_OVER, BLOCK_OMEGA, "cells_over over the cells of the true shared experts (shared-expert gating)", 0},
  {"cells_shared_mass", CELLS_ALL, BLOCK_MASS, "cells_mass over the cells of the true shared experts (shared-expert gating)", 0},
  {"cells_routed_exact", CELLS_EXACT, BLOCK_OMEGA, "cells_exact over the cells of the true routed experts (shared-expert gating)", 1},
  {"cells_routed_over", CELLS_OVER, BLOCK_OMEGA, "cells_over over the cells of the true routed experts (shared-expert gating)", 1},
  {"cells_routed_mass", CELLS_ALL, BLOCK_MASS, "cells_mass over the cells of the true routed experts (shared-expert gating)", 1},
};

static PetscReal Sig(PetscReal z)
{
  return z >= 0 ? 1.0 / (1.0 + PetscExpReal(-z)) : PetscExpReal(z) / (1.0 + PetscExpReal(z));
}

/* The weight of an atom with bias b0 in model m's Voronoi losses. */
static PetscReal Weight(MoeModel m, PetscReal b0)
{
  return m->gfamily->mass == MOE_MASS_SIGMOID ? Sig(b0) : PetscExpReal(b0);
}

/* Entries [*lo, *hi) of a block in the Voronoi view [a | sigma | b] of the experts
   (MoeModelExpertSize); an empty range when the model has no such block. */
static void BlockRange(MoeModel m, Block block, PetscInt *lo, PetscInt *hi)
{
  PetscInt na = m->ne - 1, w = MoeModelExpertSize(m);

  *lo = *hi = 0;
  if (block == BLOCK_A) *hi = na;
  else if (block == BLOCK_SIGMA) *lo = na, *hi = na + m->ns;
  else if (block == BLOCK_B) *lo = w - 1, *hi = w;
  else if (block == BLOCK_OMEGA) *hi = w;
}

/* |block of atom i - block of target atom j| (not for BLOCK_MASS). */
static PetscReal BlockDistance(const MoeVoronoi *v, MoeModel m, Block block, PetscInt i, PetscInt j)
{
  PetscReal dl = 0, de;
  PetscInt  lo, hi;

  if (block == BLOCK_OMEGA || block == BLOCK_BETA1) dl = MoeDist(v->nloc, v->loc + i * v->nloc, v->tloc + j * v->nloc);
  if (block == BLOCK_BETA1) return dl;
  BlockRange(m, block, &lo, &hi);
  de = MoeDist(hi - lo, v->eta + i * v->ne + lo, v->teta + j * v->ne + lo);
  return PetscSqrtReal(dl * dl + de * de);
}

/* The error of cell j in block `block`: the atom's distance (one atom), the weighted
   root-mean-square distance (several), the mass error (BLOCK_MASS). */
static PetscReal CellError(const MoeVoronoi *v, MoeModel m, MoeModel t, Block block, PetscInt j)
{
  PetscReal mass = 0, sq = 0, plain = 0;
  PetscInt  i;

  for (i = 0; i < v->k; i++) {
    PetscReal w, d;
    if (v->cell[i] != j) continue;
    w = Weight(m, v->b0[i]);
    mass += w;
    if (block == BLOCK_MASS) continue;
    d = BlockDistance(v, m, block, i, j);
    if (v->size[j] == 1) return d;
    sq += w * d * d;
    plain += d * d;
  }
  if (block == BLOCK_MASS) return PetscAbsReal(mass - Weight(t, v->tb0[j]));
  return mass > 0 ? PetscSqrtReal(sq / mass) : PetscSqrtReal(plain / v->size[j]); /* every weight underflowed: unweighted */
}

static PetscBool KindHas(CellKind kind, PetscInt size)
{
  if (kind == CELLS_EXACT) return (PetscBool)(size == 1);
  if (kind == CELLS_OVER) return (PetscBool)(size > 1);
  return PETSC_TRUE;
}

static PetscErrorCode MoeLoss_Cells(const MoeLossInput *in, PetscReal *value)
{
  const CellsLoss *c = (const CellsLoss *)in->ctx;
  MoeVoronoi       v;
  PetscInt         j, cells = 0, lo, hi;
  PetscReal        s = 0;

  PetscFunctionBegin;
  *value = MOE_NAN;
  if (c->part >= 0 && MoeModelAtomPart(in->tmodel, 0) < 0) PetscFunctionReturn(0); /* the target has one part */
  BlockRange(in->model, c->block, &lo, &hi);
  if ((c->block == BLOCK_A || c->block == BLOCK_SIGMA) && hi == lo) PetscFunctionReturn(0);
  PetscCall(MoeVoronoiCreate(in, &v));
  for (j = 0; j < v.kstar; j++) {
    if (!KindHas(c->kind, v.size[j])) continue;
    if (c->part >= 0 && MoeModelAtomPart(in->tmodel, j) != c->part) continue;
    s += CellError(&v, in->model, in->tmodel, c->block, j);
    cells++;
  }
  if (cells) *value = s / cells;
  PetscCall(MoeVoronoiDestroy(&v));
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_Cells(void)
{
  PetscFunctionBegin;
  for (size_t l = 0; l < sizeof(losses) / sizeof(losses[0]); l++) PetscCall(MoeLossRegisterAtoms(losses[l].name, MoeLoss_Cells, &losses[l], losses[l].meaning));
  for (size_t l = 0; l < sizeof(part_losses) / sizeof(part_losses[0]); l++) PetscCall(MoeLossRegisterOptInContext(part_losses[l].name, MoeLoss_Cells, &part_losses[l], part_losses[l].meaning));
  PetscFunctionReturn(0);
}
