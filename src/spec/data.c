/* The data and initial points of the spec: input distribution, noise, sample sizes, replicates, starts. */
#include <moe/private/specimpl.h>

/* -n as an explicit list, or -n_range lo,hi with -n_count m log-spaced values. */
static PetscErrorCode ReadSampleSizes(PetscOptionItems *PetscOptionsObject, MoeSpec *s, PetscBool run)
{
  PetscInt  ns[MOE_MAX_LIST + 1] = {1000}, nn = MOE_MAX_LIST + 1, range[3], nr = 3, count = 4, i, j; /* ns[0]: the default -help shows */
  PetscBool set, rset, cset;

  PetscFunctionBegin;
  PetscCall(PetscOptionsIntArray("-n", run ? "sample sizes (comma list; overrides -n_range), or use -n_range (default 1000,2154,4642,10000)" : "sample size (default 1000)", NULL, ns, &nn, &set));
  PetscCall(PetscOptionsIntArray("-n_range", "smallest,largest sample size of a log-spaced grid of -n_count sizes", NULL, range, &nr, &rset));
  PetscCall(PetscOptionsInt("-n_count", "number of log-spaced sample sizes in -n_range", NULL, count, &count, &cset));
  MoeUserCheck(count >= 1 && count <= MOE_MAX_LIST, "-n_count %" PetscInt_FMT " is outside 1..%d", count, MOE_MAX_LIST);
  { /* an option given with no value: "-n" (or "n: []" in YAML) */
    PetscBool given;
    PetscCall(PetscOptionsHasName(NULL, NULL, "-n", &given));
    MoeUserCheck(set || !given, "-n is empty: give at least one sample size (e.g. -n 1000,10000)");
    PetscCall(PetscOptionsHasName(NULL, NULL, "-n_range", &given));
    MoeUserCheck(set || rset || !given, "-n_range is empty: give the smallest and largest sample size (e.g. -n_range 1000,100000)");
  }
  MoeUserCheck(!set || nn <= MOE_MAX_LIST, "-n lists more than %d sample sizes: split the experiment", MOE_MAX_LIST);
  if (set) rset = PETSC_FALSE; /* -n overrides -n_range (e.g. a spec file's range from the command line) */
  if (rset) {
    MoeUserCheck(nr == 2, "-n_range needs two values, smallest,largest (e.g. -n_range 1000,100000)");
    MoeUserCheck(range[0] > 0 && range[1] >= range[0], "-n_range %" PetscInt_FMT ",%" PetscInt_FMT " is not 0 < smallest <= largest", range[0], range[1]);
    MoeUserCheck(count == 1 || range[1] > range[0], "-n_count %" PetscInt_FMT " needs smallest < largest in -n_range", count);
    for (i = 0; i < count; i++) {
      PetscReal t = count == 1 ? 0 : (PetscReal)i / (count - 1);
      ns[i]       = (PetscInt)PetscFloorReal(0.5 + range[0] * PetscPowReal((PetscReal)range[1] / range[0], t));
    }
    nn = count;
  } else if (!set) {
    ns[0] = 1000;
    nn    = 1;
    if (run) {
      nn = 4;
      for (i = 0; i < nn; i++) ns[i] = (PetscInt)PetscFloorReal(0.5 + 1000 * PetscPowReal(10.0, i / 3.0));
    }
  }
  MoeUserCheck(nn > 0, "-n is empty: give at least one sample size");
  MoeUserCheck(run || nn == 1, "-n: `moerate fit` takes one sample size (use `moerate run` for a grid)");
  for (i = 0; i < nn; i++) {
    MoeUserCheck(ns[i] > 0, "-n %" PetscInt_FMT " is not a positive sample size", ns[i]);
    for (j = 0; j < i; j++) MoeUserCheck(ns[i] != ns[j], "-n lists %" PetscInt_FMT " twice (after rounding): give distinct sample sizes", ns[i]);
  }
  PetscCall(PetscSortInt(nn, ns));
  s->nn = nn;
  for (i = 0; i < nn; i++) s->ns[i] = ns[i];
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecReadData(MPI_Comm comm, MoeSpec *s, PetscBool run, MoeSpecReadFlags *f)
{
  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "moerate data: inputs, noise, sample sizes", "moerate");
  PetscCall(PetscOptionsString("-x_dist", "input distribution: uniform (on [x_lo, x_hi]^d) or gaussian (N(0, x_sd^2 I))", NULL, f->dist, f->dist, sizeof(f->dist), NULL));
  PetscCall(PetscOptionsReal("-x_lo", "lower end of the uniform inputs", NULL, s->xlo, &s->xlo, NULL));
  PetscCall(PetscOptionsReal("-x_hi", "upper end of the uniform inputs", NULL, s->xhi, &s->xhi, NULL));
  PetscCall(PetscOptionsReal("-x_sd", "standard deviation of the Gaussian inputs", NULL, s->xsd, &s->xsd, NULL));
  PetscCall(PetscOptionsReal("-noise", "variance nu of the Gaussian noise", NULL, s->noise, &s->noise, NULL));
  PetscCall(PetscOptionsString("-data_streams", "random streams of a replicate: blocks (one per chunk of rows, format 6) or rows (one per sample, as the results before format 6)", NULL, f->streams, f->streams, sizeof(f->streams), NULL));
  PetscCall(ReadSampleSizes(PetscOptionsObject, s, run));
  /* read by `fit` too (and ignored there), so that it accepts a run's spec file */
  PetscCall(PetscOptionsInt("-replicates", "replicates per sample size (run)", NULL, s->replicates, &s->replicates, NULL));
  if (!run) s->replicates = 1;
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

PetscErrorCode MoeSpecReadInit(MPI_Comm comm, MoeSpec *s, MoeSpecReadFlags *f)
{
  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "moerate fit: initial points", "moerate");
  PetscCall(PetscOptionsString("-init", "initial point: near (the truth, split atoms, perturbed) or random", NULL, f->init, f->init, sizeof(f->init), NULL));
  PetscCall(PetscOptionsReal("-init_perturb", "near: standard deviation of the perturbation of each parameter (default 0.1/sqrt(d))", NULL, s->init_perturb, &s->init_perturb, NULL));
  PetscCall(PetscOptionsReal("-init_scale", "random: standard deviation of each parameter (default 1/sqrt(d))", NULL, s->init_scale, &s->init_scale, NULL));
  PetscCall(PetscOptionsInt("-init_starts", "starts per fit; the best objective is kept", NULL, s->init_starts, &s->init_starts, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}
