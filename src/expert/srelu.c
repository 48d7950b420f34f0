/* Scaled-ReLU experts with an outer weight h = c max(0, a^T x + b): the shared expert of
   DeepSeekMoE's design in arXiv 2505.10860, App. G (h1 = k2 ReLU(k1 x + k0), k2 = -8).

   Layout eta = [a (d) | c | b], ne = d + 2: a first and b last, as for the FFN experts
   ([a | b]), because the rest of moerate reads an expert's slopes as the first d entries of
   eta and its bias as the last (the hinge screening of src/data/screen.c, the Voronoi view
   [a | sigma | b] of src/model/embed.c, the "a" and "b" blocks of analysis/cells.py, where c
   falls into the "a" block).

   Not identified: c ReLU(z) is positively homogeneous, so (a, b, c) -> (l a, l b, c / l),
   l > 0, leaves h unchanged.  MoeIdentifiability has no value for that, and the family is
   registered as strong (the ReLU's kink), but the scale direction (a, b, -c) is a null vector
   of the Fisher information of every truth with these experts: the truth screening reports
   them ill posed, which is the verdict for the published design (-allow_ill_posed to measure
   it anyway).  The fit does not pin the scale. */
#include <moe/private/modelimpl.h>

static PetscErrorCode MoeExpertEvaluate_SReLU(MoeExpert e, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh)
{
  PetscInt  j, d = e->d;
  PetscReal c = eta[d], z = eta[d + 1], r;

  PetscFunctionBegin;
  for (j = 0; j < d; j++) z += eta[j] * x[j];
  r  = z > 0 ? z : 0;
  *h = c * r;
  if (dh) {
    PetscReal dz = z > 0 ? c : 0; /* c relu'(z), relu'(0) = 0 as relu.c */
    for (j = 0; j < d; j++) dh[j] = dz * x[j];
    dh[d]     = r;
    dh[d + 1] = dz;
  }
  PetscFunctionReturn(0);
}

/* Not an FFN expert phi(a^T x + b): e->phi stays NULL, so src/model/block.c does not take it
   for a ridge expert. */
static PetscErrorCode MoeExpertCreate_SReLU(MoeExpert e)
{
  PetscFunctionBegin;
  e->ne           = e->d + 2;
  e->ops.evaluate = MoeExpertEvaluate_SReLU;
  PetscFunctionReturn(0);
}

const MoeExpertFamily MoeExpertFamily_SReLU = {"srelu", MoeExpertCreate_SReLU, MOE_IDENTIFIABLE_STRONG, PETSC_TRUE, "scaled ReLU experts c max(0, a^T x + b), eta = (a, c, b); the scale is not identified ((a, b, c) ~ (l a, l b, c / l), l > 0), so its truths are ill posed"};
