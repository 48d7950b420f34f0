/* The Fisher information of a regression model on a sample of inputs, per unit noise
   variance: I = J^T J / n over the free parameters, J the n x pfree Jacobian of f.  Along an
   eigenvector of eigenvalue lambda the least-squares estimate has standard deviation about
   sqrt(nu / (n lambda)), so its smallest eigenvalue says how many samples a truth (or G-bar)
   needs before its parameters are pinned down. */
#include <moemodel.h>
#include <petscblaslapack.h>

#define MOE_FISHER_BLOCK 256

/* A row of the information: row r's Jacobian of f (regression) or its score (Gaussian MoE). */
typedef struct {
  const PetscReal *theta, *X, *Y;
} MoeFisherSample;

static PetscErrorCode FisherRow(MoeModel m, const MoeFisherSample *S, PetscInt r, PetscReal *row)
{
  PetscReal v;

  PetscFunctionBegin;
  if (S->Y) PetscCall(MoeModelLogDensity(m, S->theta, S->X + (size_t)r * m->d, S->Y[r], &v, row));
  else PetscCall(MoeModelEvaluateRow(m, S->theta, S->X + (size_t)r * m->d, &v, row));
  PetscFunctionReturn(0);
}

/* info = (1/n) sum_r row_r row_r^T over the free parameters (pfree x pfree, column-major, upper
   triangle), accumulated by blocks of rows with dsyrk. */
static PetscErrorCode FisherAccumulate(MoeModel m, const MoeFisherSample *S, PetscInt n, PetscScalar *info)
{
  PetscInt     pf = m->pfree, r0, nb, rr, j;
  PetscReal   *Jb, *row;
  PetscScalar  zero = 0.0, one = 1.0, scale = 1.0 / n;
  PetscBLASInt bpf, bnb;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(pf, &bpf));
  PetscCall(PetscMalloc2((size_t)MOE_FISHER_BLOCK * pf, &Jb, m->p, &row));
  for (r0 = 0; r0 < n; r0 += MOE_FISHER_BLOCK) {
    nb = PetscMin(MOE_FISHER_BLOCK, n - r0);
    for (rr = 0; rr < nb; rr++) {
      PetscCall(FisherRow(m, S, r0 + rr, row));
      for (j = 0; j < pf; j++) Jb[(size_t)rr * pf + j] = row[m->ifree[j]];
    }
    PetscCall(PetscBLASIntCast(nb, &bnb));
    PetscCallBLAS("BLASsyrk", BLASsyrk_("U", "N", &bpf, &bnb, &scale, Jb, &bpf, r0 ? &one : &zero, info, &bpf));
  }
  PetscCall(PetscFree2(Jb, row));
  PetscFunctionReturn(0);
}

/* Eigenvalues (ascending) of the information of sample S and, with vec, the eigenvector of the
   smallest. */
static PetscErrorCode FisherEigen(MoeModel m, const MoeFisherSample *S, PetscInt n, PetscReal *eig, PetscReal *vec)
{
  PetscInt     pf = m->pfree;
  PetscScalar *info, *work;
  PetscBLASInt bpf, lwork, lierr;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(pf, &bpf));
  lwork = 4 * bpf + 64;
  PetscCall(PetscMalloc2((size_t)pf * pf, &info, lwork, &work));
  PetscCall(FisherAccumulate(m, S, n, info));
  PetscCallBLAS("LAPACKsyev", LAPACKsyev_(vec ? "V" : "N", "U", &bpf, info, &bpf, eig, work, &lwork, &lierr));
  PetscCheck(lierr == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK syev failed: info %d", (int)lierr);
  if (vec) PetscCall(PetscArraycpy(vec, info, pf)); /* column 0: the smallest eigenvalue's */
  PetscCall(PetscFree2(info, work));
  PetscFunctionReturn(0);
}

/* Eigenvalues (ascending, pfree of them) of the Fisher information J^T J / n of m at theta over
   the n inputs X; with vec not NULL, also the eigenvector of the smallest one (free layout). */
PetscErrorCode MoeModelFisher(MoeModel m, const PetscReal *theta, PetscInt n, const PetscReal *X, PetscReal *eig, PetscReal *vec)
{
  MoeFisherSample S = {theta, X, NULL};

  PetscFunctionBegin;
  PetscCall(FisherEigen(m, &S, n, eig, vec));
  PetscFunctionReturn(0);
}

/* The same for the Gaussian MoE: (1/n) sum_r s_r s_r^T of the scores at (X_r, Y_r); with Y drawn
   from the model this is the Fisher information per observation, and an MLE's sd along an
   eigenvector of eigenvalue lambda is about sqrt(1 / (n lambda)). */
PetscErrorCode MoeModelFisherScores(MoeModel m, const PetscReal *theta, PetscInt n, const PetscReal *X, const PetscReal *Y, PetscReal *eig, PetscReal *vec)
{
  MoeFisherSample S = {theta, X, Y};

  PetscFunctionBegin;
  PetscCall(FisherEigen(m, &S, n, eig, vec));
  PetscFunctionReturn(0);
}

/* An estimate's sd along the weakest direction at sample size n: sqrt(nu / (n lambda_min)) from
   the ascending eigenvalues eig[0..p); infinite when lambda_min is zero or negligible against
   lambda_max (a singular information). */
PetscReal MoeFisherSd(PetscReal noise, PetscInt n, const PetscReal *eig, PetscInt p)
{
  if (!(eig[0] > 1e-14 * eig[p - 1])) return PETSC_INFINITY;
  if (noise == 0) return 0;
  return PetscSqrtReal(noise / (n * eig[0]));
}

/* The name of entry i of the full parameter vector, e.g. "atom 3 beta1[2]", "atom 0 b". */
PetscErrorCode MoeModelParameterName(MoeModel m, PetscInt i, char *buf, size_t len)
{
  PetscInt atom = i / m->stride, j = i % m->stride, d = m->d;

  PetscFunctionBegin;
  if (atom >= m->k) PetscCall(PetscSNPrintf(buf, len, "gating global %" PetscInt_FMT, i - m->k * m->stride));
  else if (j < d) PetscCall(PetscSNPrintf(buf, len, "atom %" PetscInt_FMT " beta1[%" PetscInt_FMT "]", atom, j));
  else if (j == d) PetscCall(PetscSNPrintf(buf, len, "atom %" PetscInt_FMT " beta0", atom));
  else if (m->ns && j == m->stride - 1) PetscCall(PetscSNPrintf(buf, len, "atom %" PetscInt_FMT " %s", atom, m->base ? "nu" : "sigma"));
  else if (j == d + m->ne) PetscCall(PetscSNPrintf(buf, len, "atom %" PetscInt_FMT " b", atom));
  else if (j - d - 1 >= d) PetscCall(PetscSNPrintf(buf, len, "atom %" PetscInt_FMT " c", atom)); /* srelu's outer weight */
  else PetscCall(PetscSNPrintf(buf, len, "atom %" PetscInt_FMT " a[%" PetscInt_FMT "]", atom, j - d - 1));
  PetscFunctionReturn(0);
}

/* "atom 3 beta0 0.71, atom 3 b -0.52, atom 3 a[1] 0.30": the (at most) three largest entries
   of a unit direction given in the free layout. */
PetscErrorCode MoeModelDescribeDirection(MoeModel m, const PetscReal *vec, char *buf, size_t len)
{
  PetscInt used[3] = {-1, -1, -1}, t, j;

  PetscFunctionBegin;
  buf[0] = 0;
  for (t = 0; t < 3 && t < m->pfree; t++) {
    PetscInt best = -1;
    char     name[64], item[96];
    for (j = 0; j < m->pfree; j++) {
      if (j == used[0] || j == used[1]) continue;
      if (best < 0 || PetscAbsReal(vec[j]) > PetscAbsReal(vec[best])) best = j;
    }
    used[t] = best;
    PetscCall(MoeModelParameterName(m, m->ifree[best], name, sizeof(name)));
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%s %.2f", t ? ", " : "", name, (double)vec[best]));
    PetscCall(PetscStrlcat(buf, item, len));
  }
  PetscFunctionReturn(0);
}
