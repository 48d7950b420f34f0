/* The MoE regression function f_G(x) = sum_i gate_i(x) h(x, eta_i), its parameter layout
   (see moemodel.h) and its analytic derivatives. */
#include <moe/private/modelimpl.h>

const char *const MoeModelTypes[] = {"regression", "gaussian", "contaminated", "MoeModelType", "MOE_MODEL_", NULL};

/* A gating with parts may give part 0 its own expert family (-shared_expert): its atoms then have
   their own expert, and every atom's eta block is as long as the longer family's (m->ne).  A
   shorter expert's entries sit at the block's ends, its first ne_i - 1 entries first and its last
   (the bias b) last, so that the slopes lead and b closes every block as the other rooms read
   them; the padding between is pinned to 0. */
static PetscErrorCode SetUpPartExpert(MoeModel m)
{
  MoeGating g = m->gating;

  PetscFunctionBegin;
  if (!g->part_expert || g->part_expert == m->expert->family) PetscFunctionReturn(0);
  PetscCheck(g->part, PETSC_COMM_SELF, PETSC_ERR_PLIB, "a part expert family without parts");
  PetscCheck(m->type != MOE_MODEL_CONTAMINATED, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "the contaminated MoE has one expert family");
  PetscCall(MoeExpertCreate(g->part_expert->name, m->d, &m->pexpert));
  m->ne        = PetscMax(m->expert->ne, m->pexpert->ne);
  m->stride    = m->ng + m->ne + m->ns;
  g->stride    = m->stride; /* the gating was created before its options named the part's family */
  PetscFunctionReturn(0);
}

static inline MoeExpert AtomExpert(MoeModel m, PetscInt i)
{
  return m->pexpert && m->gating->part[i] == 0 ? m->pexpert : m->expert;
}

/* The padding of the shorter experts' eta blocks (SetUpPartExpert). */
static PetscErrorCode PinPadding(MoeModel m, PetscBool *pin)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < m->k && m->pexpert; i++)
    for (PetscInt j = AtomExpert(m, i)->ne - 1; j < m->ne - 1; j++) pin[i * m->stride + m->ng + j] = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelExpertEvaluate(MoeModel m, PetscInt i, const PetscReal *eta, const PetscReal *x, PetscReal *h, PetscReal *dh)
{
  MoeExpert e = AtomExpert(m, i);
  PetscInt  ne = e->ne, j;

  PetscFunctionBegin;
  if (ne == m->ne) {
    PetscCall((*e->ops.evaluate)(e, eta, x, h, dh));
    PetscFunctionReturn(0);
  }
  for (j = 0; j < ne - 1; j++) m->eb[j] = eta[j];
  m->eb[ne - 1] = eta[m->ne - 1];
  PetscCall((*e->ops.evaluate)(e, m->eb, x, h, dh ? m->db : NULL));
  if (!dh) PetscFunctionReturn(0);
  for (j = 0; j < m->ne; j++) dh[j] = 0;
  for (j = 0; j < ne - 1; j++) dh[j] = m->db[j];
  dh[m->ne - 1] = m->db[ne - 1];
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelCreate(const char gating[], const char expert[], PetscInt k, PetscInt d, PetscOptions opts, const char prefix[], MoeModel *model)
{
  MoeModel  m;
  PetscInt  i, j;
  PetscEnum type = (PetscEnum)MOE_MODEL_REGRESSION;

  PetscFunctionBegin;
  PetscCall(PetscNew(&m));
  m->sigma_lo = MOE_SIGMA_MIN;
  PetscCall(PetscOptionsGetEnum(opts, NULL, "-model", MoeModelTypes, &type, NULL));
  m->type = (MoeModelType)type;
  m->ns   = m->type == MOE_MODEL_REGRESSION ? 0 : 1;
  PetscCall(MoeExpertCreate(expert, d, &m->expert));
  m->k      = k;
  m->d      = d;
  m->ng     = d + 1;
  m->ne     = m->expert->ne;
  m->stride = m->ng + m->ne + m->ns;
  PetscCall(MoeGatingCreate(gating, k, d, m->stride, opts, prefix, &m->gating));
  PetscCall(SetUpPartExpert(m));
  m->gfamily = m->gating->family;
  m->efamily = m->expert->family;
  m->nglobal = m->gating->nglobal;
  m->p       = k * m->stride + m->nglobal;
  PetscCall(PetscCalloc1(m->p, &m->pinned));
  if (m->gating->ops.pin) PetscCall((*m->gating->ops.pin)(m->gating, m->pinned));
  PetscCall(PinPadding(m, m->pinned));
  if (m->type == MOE_MODEL_CONTAMINATED) {
    PetscCall(MoeModelSetUpContaminated(m, opts));
    PetscCall(MoeModelPinContaminated(m, m->pinned));
  }
  PetscCall(PetscMalloc1(m->p, &m->ifree));
  for (i = 0, j = 0; i < m->p; i++)
    if (!m->pinned[i]) m->ifree[j++] = i;
  m->pfree = j;
  PetscCall(PetscMalloc3(k, &m->h, k, &m->gate, m->ne, &m->dh));
  PetscCall(PetscMalloc2(m->ne, &m->eb, m->ne, &m->db));
  *model = m;
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelDestroy(MoeModel *m)
{
  PetscFunctionBegin;
  if (!*m) PetscFunctionReturn(0);
  PetscCall(MoeModelDestroyBase(*m));
  PetscCall(MoeGatingDestroy(&(*m)->gating));
  PetscCall(MoeExpertDestroy(&(*m)->expert));
  PetscCall(MoeExpertDestroy(&(*m)->pexpert));
  PetscCall(PetscFree2((*m)->eb, (*m)->db));
  PetscCall(PetscFree((*m)->pinned));
  PetscCall(PetscFree((*m)->ifree));
  PetscCall(PetscFree3((*m)->h, (*m)->gate, (*m)->dh));
  PetscCall(PetscFree3((*m)->bS, (*m)->bZ, (*m)->bQ));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelEvaluate(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal *f)
{
  PetscInt i;

  PetscFunctionBegin;
  for (i = 0; i < m->k; i++) PetscCall(MoeModelExpertEvaluate(m, i, theta + i * m->stride + m->ng, x, &m->h[i], NULL));
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, m->h, f, m->gate, NULL));
  PetscFunctionReturn(0);
}

/* f and the full Jacobian row J = df/dtheta (length p) at x. */
PetscErrorCode MoeModelEvaluateRow(MoeModel m, const PetscReal *theta, const PetscReal *x, PetscReal *f, PetscReal *J)
{
  PetscInt i, j;

  PetscFunctionBegin;
  for (i = 0; i < m->k; i++) PetscCall(MoeModelExpertEvaluate(m, i, theta + i * m->stride + m->ng, x, &m->h[i], J + i * m->stride + m->ng));
  PetscCall((*m->gating->ops.evaluate)(m->gating, theta, x, m->h, f, m->gate, J));
  for (i = 0; i < m->k; i++) { /* df/deta_i = gate_i dh_i/deta_i; the mean does not depend on sigma_i */
    PetscReal *Je = J + i * m->stride + m->ng, g = m->gate[i];
    for (j = 0; j < m->ne; j++) Je[j] *= g;
    for (j = 0; j < m->ns; j++) Je[m->ne + j] = 0;
  }
  PetscFunctionReturn(0);
}

/* F[r] = f(X[r]) for the n rows of the row-major n x d matrix X. */
PetscErrorCode MoeModelEvaluateMany(MoeModel m, const PetscReal *theta, PetscInt n, const PetscReal *X, PetscReal *F)
{
  PetscInt r;

  PetscFunctionBegin;
  for (r = 0; r < n; r++) PetscCall(MoeModelEvaluate(m, theta, X + r * m->d, &F[r]));
  PetscFunctionReturn(0);
}

/* theta[ifree[j]] = xfree[j]; the pinned entries of theta are left as they are. */
PetscErrorCode MoeModelFreeToFull(MoeModel m, const PetscReal *xfree, PetscReal *theta)
{
  PetscInt j;

  PetscFunctionBegin;
  for (j = 0; j < m->pfree; j++) theta[m->ifree[j]] = xfree[j];
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelFullToFree(MoeModel m, const PetscReal *theta, PetscReal *xfree)
{
  PetscInt j;

  PetscFunctionBegin;
  for (j = 0; j < m->pfree; j++) xfree[j] = theta[m->ifree[j]];
  PetscFunctionReturn(0);
}

/* Lower bounds of the full vector: -infinity except bounded globals (a temperature) and every sigma_i (m->sigma_lo). */
PetscErrorCode MoeModelLowerBounds(MoeModel m, PetscReal *lower)
{
  PetscInt i;

  PetscFunctionBegin;
  for (i = 0; i < m->p; i++) lower[i] = PETSC_NINFINITY;
  if (m->nglobal && m->gating->ops.globalbounds) PetscCall((*m->gating->ops.globalbounds)(m->gating, lower + m->k * m->stride));
  for (i = 0; i < m->k && m->ns; i++) lower[i * m->stride + m->ng + m->ne] = m->sigma_lo; /* sigma_i > 0 */
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelSetSigmaLowerBound(MoeModel m, PetscReal lo)
{
  PetscFunctionBegin;
  m->sigma_lo = PetscMax(lo, MOE_SIGMA_MIN);
  PetscFunctionReturn(0);
}

/* Set the pinned entries of theta to zero. */
PetscErrorCode MoeModelPinParameters(MoeModel m, PetscReal *theta)
{
  PetscInt i;

  PetscFunctionBegin;
  for (i = 0; i < m->p; i++)
    if (m->pinned[i]) theta[i] = 0;
  PetscFunctionReturn(0);
}

/* Do two models have the same gating and expert families? */
PetscErrorCode MoeModelSameFamilies(MoeModel a, MoeModel b, PetscBool *same)
{
  PetscBool sg, se;

  PetscFunctionBegin;
  sg = (PetscBool)(a->gfamily == b->gfamily);
  se = (PetscBool)(a->efamily == b->efamily);
  *same = (PetscBool)(sg && se);
  PetscFunctionReturn(0);
}

/* One line: "topk(-topk_K 2) x relu, k=9, d=32, p=594 (561 free)". */
PetscErrorCode MoeModelDescribe(MoeModel m, char *buf, size_t len)
{
  char extra[128] = "";

  PetscFunctionBegin;
  if (m->gating->ops.describe) PetscCall((*m->gating->ops.describe)(m->gating, extra, sizeof(extra)));
  PetscCall(PetscSNPrintf(buf, len, "%s%s%s%s x %s, k=%" PetscInt_FMT ", d=%" PetscInt_FMT ", p=%" PetscInt_FMT " (%" PetscInt_FMT " free)%s", m->gfamily->name, extra[0] ? "(" : "", extra, extra[0] ? ")" : "", m->efamily->name, m->k, m->d, m->p, m->pfree, m->base ? ", contaminated MoE" : m->ns ? ", Gaussian MoE" : ""));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeModelGatingOptions(MoeModel m, char *buf, size_t len)
{
  PetscFunctionBegin;
  buf[0] = 0;
  if (m->gating->ops.describe) PetscCall((*m->gating->ops.describe)(m->gating, buf, len));
  PetscFunctionReturn(0);
}

PetscInt MoeModelAtomPart(MoeModel m, PetscInt i)
{
  return m->gating->part ? m->gating->part[i] : -1;
}

const MoeExpertFamily *MoeModelAtomExpertFamily(MoeModel m, PetscInt i)
{
  return AtomExpert(m, i)->family;
}

PetscInt MoeModelActiveAtoms(MoeModel m)
{
  return m->gating->active;
}
