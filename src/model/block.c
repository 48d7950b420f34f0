/* Blocks of rows through BLAS, for models whose gating scores and expert inputs are affine in x
   (an affine-score gating family and ridge experts phi(a^T x + b)).

   Every column block of J is x~ = (x, 1) scaled by a per-row factor: df/d(beta1_i, beta0_i) =
   df/ds_i x~ and df/d(a_i, b_i) = gate_i phi'(z_i) x~.  So the 2k scores of a block of rows
   are one GEMM of X with the parameters (instead of 2k dot products per row), and
   J^T w = X~^T (w .* factors) is two more, without forming J.  The row-at-a-time evaluation
   (model.c) computes the same numbers; tests/test_gradient.c checks one against the other. */
#include <moe/private/modelimpl.h>
#include <petscblaslapack.h>

PetscBool MoeModelHasBlocks(MoeModel m)
{
  return (PetscBool)(m->gating->ops.scores && m->expert->phi && !m->pexpert);
}

PetscInt MoeModelBlockFactors(MoeModel m)
{
  return 2 * m->k + m->nglobal;
}

static PetscErrorCode BlockWork(MoeModel m, PetscInt nb)
{
  PetscFunctionBegin;
  if (nb <= m->bcap) PetscFunctionReturn(0);
  PetscCall(PetscFree3(m->bS, m->bZ, m->bQ));
  PetscCall(PetscMalloc3((size_t)nb * m->k, &m->bS, (size_t)nb * m->k, &m->bZ, (size_t)nb * 2 * m->k, &m->bQ));
  m->bcap = nb;
  PetscFunctionReturn(0);
}

/* P (nb x k, row-major) = X A^T, A's rows the k atoms' d-vectors at theta + off (stride apart). */
static PetscErrorCode AffineScores(MoeModel m, const PetscReal *theta, PetscInt off, PetscInt nb, const PetscReal *X, PetscReal *P)
{
  PetscBLASInt bk, bnb, bd, bs;
  PetscScalar  one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(m->k, &bk));
  PetscCall(PetscBLASIntCast(nb, &bnb));
  PetscCall(PetscBLASIntCast(m->d, &bd));
  PetscCall(PetscBLASIntCast(m->stride, &bs));
  PetscCallBLAS("BLASgemm", BLASgemm_("T", "N", &bk, &bnb, &bd, &one, (PetscScalar *)theta + off, &bs, (PetscScalar *)X, &bd, &zero, P, &bk));
  PetscFunctionReturn(0);
}

/* F[r] = f(X[r]) for the nb rows of X (row-major nb x d); with C, the factors of each row
   (MoeModelBlockFactors entries: df/ds_i, then gate_i phi'(z_i), then df/d(globals)). */
PetscErrorCode MoeModelEvaluateBlock(MoeModel m, const PetscReal *theta, PetscInt nb, const PetscReal *X, PetscReal *F, PetscReal *C)
{
  MoeGating        g    = m->gating;
  MoeExpert        e    = m->expert;
  PetscInt         k    = m->k, d = m->d, nc = MoeModelBlockFactors(m), r, i;
  const PetscReal *glob = theta + k * m->stride;

  PetscFunctionBegin;
  PetscCall(BlockWork(m, nb));
  PetscCall(AffineScores(m, theta, 0, nb, X, m->bS));
  PetscCall(AffineScores(m, theta, m->ng, nb, X, m->bZ));
  for (r = 0; r < nb; r++) {
    PetscReal *s = m->bS + (size_t)r * k, *z = m->bZ + (size_t)r * k, *Cr = C ? C + (size_t)r * nc : NULL;
    for (i = 0; i < k; i++) {
      s[i] += theta[i * m->stride + d];
      z[i] += theta[i * m->stride + m->ng + d];
      m->h[i] = e->phi(z[i]);
    }
    PetscCall((*g->ops.scores)(g, glob, s, m->h, &F[r], m->gate, Cr, Cr ? Cr + 2 * k : NULL));
    if (Cr)
      for (i = 0; i < k; i++) Cr[k + i] = m->gate[i] * e->dphi(z[i]);
  }
  PetscFunctionReturn(0);
}

/* grad (full layout) += sum_r w[r] J_r over the block, from its factors C. */
PetscErrorCode MoeModelBlockGradient(MoeModel m, PetscInt nb, const PetscReal *X, const PetscReal *C, const PetscReal *w, PetscReal *grad)
{
  PetscInt     k = m->k, d = m->d, nc = MoeModelBlockFactors(m), r, i;
  PetscReal   *Q;
  PetscBLASInt bk, bnb, bd, bs, b2k;
  PetscScalar  one = 1.0;

  PetscFunctionBegin;
  PetscCall(BlockWork(m, nb));
  Q = m->bQ;
  for (r = 0; r < nb; r++)
    for (i = 0; i < 2 * k; i++) Q[(size_t)r * 2 * k + i] = w[r] * C[(size_t)r * nc + i];
  PetscCall(PetscBLASIntCast(k, &bk));
  PetscCall(PetscBLASIntCast(2 * k, &b2k));
  PetscCall(PetscBLASIntCast(nb, &bnb));
  PetscCall(PetscBLASIntCast(d, &bd));
  PetscCall(PetscBLASIntCast(m->stride, &bs));
  /* the slopes: grad[i stride + j] += sum_r X[r][j] Q[r][i], gating then experts */
  PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &bd, &bk, &bnb, &one, (PetscScalar *)X, &bd, Q, &b2k, &one, grad, &bs));
  PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &bd, &bk, &bnb, &one, (PetscScalar *)X, &bd, Q + k, &b2k, &one, grad + m->ng, &bs));
  for (r = 0; r < nb; r++) { /* the intercepts and the globals */
    const PetscReal *q = Q + (size_t)r * 2 * k, *Cg = C + (size_t)r * nc + 2 * k;
    for (i = 0; i < k; i++) {
      grad[i * m->stride + d] += q[i];
      grad[i * m->stride + m->ng + d] += q[k + i];
    }
    for (i = 0; i < m->nglobal; i++) grad[k * m->stride + i] += w[r] * Cg[i];
  }
  PetscFunctionReturn(0);
}

/* The free columns of J's rows (row-major nb x pfree) from the factors C; row: work of length p. */
PetscErrorCode MoeModelBlockJacobian(MoeModel m, PetscInt nb, const PetscReal *X, const PetscReal *C, PetscReal *row, PetscReal *J)
{
  PetscInt  k = m->k, d = m->d, nc = MoeModelBlockFactors(m), pf = m->pfree, r, i, j;
  PetscBool direct = (PetscBool)(pf == m->p);

  PetscFunctionBegin;
  PetscCall(PetscArrayzero(row, m->p)); /* the Gaussian MoE's sigmas: the mean does not depend on them */
  for (r = 0; r < nb; r++) {
    const PetscReal *x = X + (size_t)r * d, *Cr = C + (size_t)r * nc;
    PetscReal       *full = direct ? J + (size_t)r * pf : row;
    for (i = 0; i < k; i++) {
      PetscReal *Jg = full + i * m->stride, *Je = Jg + m->ng, cg = Cr[i], ce = Cr[k + i];
      for (j = 0; j < d; j++) {
        Jg[j] = cg * x[j];
        Je[j] = ce * x[j];
      }
      Jg[d] = cg;
      Je[d] = ce;
      for (j = 0; j < m->ns; j++) Je[m->ne + j] = 0;
    }
    for (i = 0; i < m->nglobal; i++) full[k * m->stride + i] = Cr[2 * k + i];
    if (!direct)
      for (j = 0; j < pf; j++) J[(size_t)r * pf + j] = row[m->ifree[j]];
  }
  PetscFunctionReturn(0);
}
