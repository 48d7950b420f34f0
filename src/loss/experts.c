/* The experts' parameter error, gating left out:
     experts = sum_i min_j |omega_i - omega*_j| + sum_j min_i |omega_i - omega*_j|,
   omega_i = (eta_i, sigma_i) (sigma for the Gaussian MoE), each fitted expert to its nearest
   true one and each true expert to its nearest fitted one.  For a top-1 gating the gates
   identify the scores only up to a positive factor (the selection depends on their order), so
   losses that weight atoms by exp(beta0) or compare beta1 measure that convention; this loss
   measures what the data identify.  Both sums decay like the expert parameters' errors.

   experts_mass weights the same distances by what the mixture gives each atom, its mean gate
   m_i = E_X g_i(X) (Monte Carlo on the evaluation sample), in Voronoi cells A_j of the true
   experts (omega space):
     experts_mass = sum_j |sum_{i in A_j} m_i - m*_j| + sum_j sum_{i in A_j} m_i |omega_i - omega*_j|.
   It is the exactly specified D1 with the gating's identified masses in place of exp(beta0) and its
   locations left out: an over-specified fit whose extra atom ends with a negligible gate (a top-K
   model from a sparser truth) pays for that atom what the atom weighs, not its arbitrary
   parameters. */
#include <moeloss.h>

/* The true expert nearest to fitted expert i in (eta, sigma) (ties: the lowest), and its distance. */
static PetscReal NearestTrue(const MoeVoronoi *v, PetscInt i, PetscInt *cell)
{
  PetscReal best = PETSC_MAX_REAL;

  *cell = 0;
  for (PetscInt j = 0; j < v->kstar; j++) {
    PetscReal dj = MoeDist(v->ne, v->eta + i * v->ne, v->teta + j * v->ne);
    if (dj < best) best = dj, *cell = j;
  }
  return best;
}

static PetscErrorCode MoeLoss_Experts(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i, j;
  PetscReal  s = 0;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  for (i = 0; i < v.k; i++) s += NearestTrue(&v, i, &j);
  for (j = 0; j < v.kstar; j++) {
    PetscReal best = PETSC_MAX_REAL;
    for (i = 0; i < v.k; i++) best = PetscMin(best, MoeDist(v.ne, v.eta + i * v.ne, v.teta + j * v.ne));
    s += best;
  }
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

/* mass[i] = mean over the evaluation sample of model m's gate i at theta */
static PetscErrorCode MeanGates(MoeModel m, PetscInt k, const PetscReal *theta, const MoeData *E, PetscReal *mass)
{
  PetscInt   r, i;
  PetscReal *g, *h;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(k, &g, k, &h));
  PetscCall(PetscArrayzero(mass, k));
  for (r = 0; r < E->n; r++) {
    PetscCall(MoeModelComponents(m, theta, E->X + (size_t)r * E->d, g, h));
    for (i = 0; i < k; i++) mass[i] += g[i] / E->n;
  }
  PetscCall(PetscFree2(g, h));
  PetscFunctionReturn(0);
}

static PetscErrorCode MoeLoss_ExpertsMass(const MoeLossInput *in, PetscReal *value)
{
  MoeVoronoi v;
  PetscInt   i, j, c = 0;
  PetscReal  s = 0, *m, *tm, *cellmass;

  PetscFunctionBegin;
  PetscCall(MoeVoronoiCreate(in, &v));
  PetscCall(PetscMalloc2(v.k, &m, 2 * v.kstar, &tm));
  cellmass = tm + v.kstar;
  PetscCall(MeanGates(in->model, v.k, in->theta, in->eval, m));
  PetscCall(MeanGates(in->tmodel, v.kstar, in->target, in->eval, tm));
  PetscCall(PetscArrayzero(cellmass, v.kstar));
  for (i = 0; i < v.k; i++) { /* each fitted atom's weighted distance to the true expert of its cell */
    s += m[i] * NearestTrue(&v, i, &c);
    cellmass[c] += m[i];
  }
  for (j = 0; j < v.kstar; j++) s += PetscAbsReal(cellmass[j] - tm[j]);
  PetscCall(PetscFree2(m, tm));
  PetscCall(MoeVoronoiDestroy(&v));
  *value = s;
  PetscFunctionReturn(0);
}

PETSC_EXTERN PetscErrorCode MoeLossRegister_Experts(void)
{
  PetscFunctionBegin;
  PetscCall(MoeLossRegisterOptIn("experts", MoeLoss_Experts, MOE_LOSS_ATOMS, "experts' parameter error, gating left out: each fitted expert (eta, sigma) to its nearest true one and each true one to its nearest fitted one"));
  PetscCall(MoeLossRegisterOptIn("experts_mass", MoeLoss_ExpertsMass, MOE_LOSS_ATOMS, "experts' parameter error weighted by the mean gates E g_i(X) in Voronoi cells of the true experts, plus the cells' mass errors (Monte Carlo on -eval_n points)"));
  PetscFunctionReturn(0);
}
