/* Certification of a fit against the objective of a reference point on the same data, and
   the extra starts of an uncertified fit (see moecertify.h). */
#include <moecertify.h>

PetscErrorCode MoeCertifyReferenceObjective(const MoeSolver *solver, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscReal *fref)
{
  PetscBool same;

  PetscFunctionBegin;
  PetscCall(MoeModelSameFamilies(m, truth->model, &same));
  if (same) PetscCall(solver->objective(truth->model, D, truth->theta, fref));
  else if (gbar) PetscCall(solver->objective(m, D, gbar, fref));
  else *fref = MOE_NAN;
  PetscFunctionReturn(0);
}

/* -init_starts fits from starts 0, 1, ... of stream (n, replicate) near target; keep the
   converged fit with the lowest objective (a failed one only if all failed).  theta0
   receives the kept start. */
PetscErrorCode MoeCertifyBestOfStarts(const MoeSolver *solver, const MoeFitParams *fp, const MoeInitParams *ip, MoeModel m, const MoeTruth *target, const MoeData *D, MoeStream stream, PetscInt64 n, PetscInt64 replicate, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res)
{
  PetscReal   *t0, *t;
  MoeFitResult r;
  PetscInt     s;
  PetscReal    time = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(m->p, &t0, m->p, &t));
  for (s = 0; s < ip->starts; s++) {
    PetscBool better;
    PetscCall(MoeInitialPoint(ip, m, target, stream, n, replicate, s, t0));
    PetscCall(solver->solve(solver->ctx, fp, m, D, t0, inject_nan, t, &r));
    r.start = s;
    time += r.time;
    if (r.status == MOE_FIT_PENDING) { /* interrupted: abandon the task */
      *res = r;
      break;
    }
    if (s == 0) better = PETSC_TRUE;
    else if (r.status == MOE_FIT_CONVERGED && res->status != MOE_FIT_CONVERGED) better = PETSC_TRUE;
    else if (r.status != MOE_FIT_CONVERGED && res->status == MOE_FIT_CONVERGED) better = PETSC_FALSE;
    else better = (PetscBool)(r.objective < res->objective);
    if (better) {
      *res = r;
      PetscCall(PetscArraycpy(theta0, t0, m->p));
      PetscCall(PetscArraycpy(theta, t, m->p));
    }
  }
  res->time = time;
  PetscCall(PetscFree2(t0, t));
  PetscFunctionReturn(0);
}

/* gap = 2n/nu (f - fref); with noise-free data, 0 at or below fref and +inf above. */
/* Least squares: 2n/nu (f - fref); maximum likelihood (f = -mean log-likelihood): 2n (f - fref),
   the likelihood-ratio statistic. */
static PetscReal Gap(const MoeSpec *spec, MoeModel m, PetscInt n, PetscReal f, PetscReal fref)
{
  if (m->ns) return PetscIsInfOrNanReal(f) || PetscIsInfOrNanReal(fref) ? MOE_NAN : 2.0 * n * (f - fref);
  if (PetscIsInfOrNanReal(f) || PetscIsInfOrNanReal(fref)) return MOE_NAN;
  if (spec->noise > 0) return 2.0 * n / spec->noise * (f - fref);
  return f <= fref * (1 + 1e-10) ? 0 : PETSC_INFINITY;
}

void MoeCertifyAssess(const MoeSpec *spec, MoeModel m, PetscInt n, const MoeFitResult *r, PetscReal fref, MoeCertificate *c)
{
  c->ref_objective = fref;
  c->gap           = Gap(spec, m, n, r->objective, fref);
  c->certified     = (PetscBool)(c->gap <= spec->certify_tol); /* false for NaN */
}

/* Is fit a (certificate ca) better than fit b (cb)?  Certified and converged first, then
   certified, then converged, then the lower objective. */
static PetscBool Better(const MoeFitResult *a, const MoeCertificate *ca, const MoeFitResult *b, const MoeCertificate *cb, PetscBool suffices)
{
  if (suffices && ca->certified && cb->certified) return (PetscBool)(a->objective < b->objective); /* the higher likelihood */
  PetscInt ka = 2 * (ca->certified ? 1 : 0) + (a->status == MOE_FIT_CONVERGED ? 1 : 0);
  PetscInt kb = 2 * (cb->certified ? 1 : 0) + (b->status == MOE_FIT_CONVERGED ? 1 : 0);

  if (ka != kb) return (PetscBool)(ka > kb);
  return (PetscBool)(a->objective < b->objective);
}

/* The Gaussian MoE's likelihood is unbounded: an extra expert can sit on one observation with
   sigma -> 0.  Such a fit reaches a likelihood above the truth's without being the estimator the
   theory is about (the consistent maximum); a fit with an expert's sigma below a tenth of the
   reference point's smallest is therefore not certified (0: no floor, the regression model). */
static PetscReal SigmaFloor(const MoeTruth *target)
{
  MoeModel  t = target->model;
  PetscReal lo = PETSC_MAX_REAL;
  PetscInt  i;

  if (!t->ns) return 0;
  for (i = 0; i < t->k; i++) lo = PetscMin(lo, target->theta[i * t->stride + t->ng + t->ne]);
  return 0.1 * lo;
}

PetscErrorCode MoeCertifySigmaFloor(MoeModel m, const MoeTruth *truth, const PetscReal *gbar, PetscReal *floor)
{
  MoeTruth near;

  PetscFunctionBegin;
  PetscCall(MoeNearTarget(m, truth, gbar, &near));
  *floor = SigmaFloor(&near);
  PetscFunctionReturn(0);
}

static void RejectDegenerate(MoeModel m, const PetscReal *theta, PetscReal floor, MoeCertificate *c)
{
  PetscInt i;

  for (i = 0; i < m->k && m->ns; i++)
    if (theta[i * m->stride + m->ng + m->ne] < floor) c->certified = PETSC_FALSE;
}

/* The fit of one replicate by an estimator's solver: -init_starts starts near the target (G*, or
   G-bar for other families), then, while it is not certified, the reference point itself and further
   near starts, up to -certify_starts in all.  A certified fit that did not converge (iteration cap,
   stall) gets the reference point as one more start, not more: it is at the estimator's objective,
   and further starts of a slow design would only repeat its cost.  A restart (> 0) takes its starts
   from a range of the replicate's start stream of its own, and its certification starts are further
   near starts, not the reference point: the replicate's own fit already had that one. */
PetscErrorCode MoeCertifiedFit(const MoeSolver *solver, const MoeFitParams *fp, const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, const MoeData *D, PetscInt64 n, PetscInt64 replicate, PetscInt restart, PetscBool inject_nan, PetscReal *theta0, PetscReal *theta, MoeFitResult *res, MoeCertificate *cert)
{
  MoeTruth       near;
  MoeFitResult   r;
  MoeCertificate c;
  PetscReal      fref, *t0, *t, time;
  PetscInt       s;
  MoeInitParams  ip;

  PetscFunctionBegin;
  MoeSpecInitParams(spec, &ip);
  ip.first = restart * spec->certify_starts;
  PetscCall(MoeNearTarget(m, truth, gbar, &near));
  PetscCall(MoeCertifyBestOfStarts(solver, fp, &ip, m, &near, D, MOE_STREAM_INIT, n, replicate, inject_nan, theta0, theta, res));
  PetscCall(MoeCertifyReferenceObjective(solver, m, truth, gbar, D, &fref));
  MoeCertifyAssess(spec, m, (PetscInt)MoeDataSize(D), res, fref, cert);
  RejectDegenerate(m, theta, SigmaFloor(&near), cert);
  cert->starts_used = spec->init_starts;
  if (res->status == MOE_FIT_PENDING || PetscIsInfOrNanReal(fref)) PetscFunctionReturn(0);
  time = res->time;
  PetscCall(PetscMalloc2(m->p, &t0, m->p, &t));
  for (s = spec->init_starts; s < spec->certify_starts && (!cert->certified || (!solver->certificate_suffices && res->status != MOE_FIT_CONVERGED && s == spec->init_starts)); s++) {
    if (s == spec->init_starts && !restart) PetscCall(MoeReferencePoint(m, &near, t0));
    else PetscCall(MoeInitialPoint(&ip, m, &near, MOE_STREAM_INIT, n, replicate, s, t0));
    PetscCall(solver->solve(solver->ctx, fp, m, D, t0, inject_nan, t, &r));
    r.start = s;
    time += r.time;
    cert->starts_used = s + 1;
    if (r.status == MOE_FIT_PENDING) { /* interrupted: abandon the task */
      *res = r;
      break;
    }
    MoeCertifyAssess(spec, m, (PetscInt)MoeDataSize(D), &r, fref, &c);
    RejectDegenerate(m, t, SigmaFloor(&near), &c);
    if (Better(&r, &c, res, cert, solver->certificate_suffices)) {
      *res = r;
      c.starts_used = cert->starts_used;
      *cert         = c;
      PetscCall(PetscArraycpy(theta0, t0, m->p));
      PetscCall(PetscArraycpy(theta, t, m->p));
    }
  }
  res->time = time;
  PetscCall(PetscFree2(t0, t));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeCertifyReference(const MoeSpec *spec, MoeModel m, const MoeTruth *truth, const PetscReal *gbar, PetscReal objective, PetscReal *sd, PetscBool *identified, char why[], size_t len)
{
  MoeData        *E;
  PetscReal      *eig, sdmax;
  MoeDataParams   dp;
  MoeScreenParams sp;
  char            fisher[512];

  PetscFunctionBegin;
  MoeSpecDataParams(spec, &dp);
  MoeSpecScreenParams(spec, &sp);
  PetscCall(MoeDataEvaluationSample(&dp, truth, &E));
  PetscCall(PetscMalloc1(m->pfree, &eig));
  PetscCall(MoeFisherCheck(m, gbar, E, sp.noise, sp.nmax, sp.max_sd, eig, &sdmax, fisher, sizeof(fisher)));
  *sd    = MoeFisherSd(sp.noise, sp.nmin, eig, m->pfree);
  why[0] = 0;
  if (!(objective >= sp.noise / (2.0 * sp.nmax)))
    PetscCall(PetscSNPrintf(why, len, "its noise-free objective %.2e is below noise/(2 n_max) = %.2e: the fitted family reproduces the truth (or nearly), so G-bar is a set, not a point", (double)objective, (double)(sp.noise / (2.0 * sp.nmax))));
  else if (fisher[0]) PetscCall(PetscSNPrintf(why, len, "its Fisher information is singular at the scale of the data: %s", fisher));
  *identified = (PetscBool)!why[0];
  PetscCall(PetscFree(eig));
  PetscCall(MoeDataDestroy(&E));
  PetscFunctionReturn(0);
}
