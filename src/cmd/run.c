/* `moerate run`: a whole experiment grid over MPI ranks into one HDF5 file. */
#include <moerun.h>
#include <moecmd.h>
#include <moestore.h>
#include <moeschedule.h>

typedef struct {
  const MoeSpec       *spec;
  const MoeRunOptions *opts;
  MoeResults          *results;
} RootSetUp;

/* Rank 0 alone: the output path, an existing file (refused, or loaded to resume). */
static PetscErrorCode PrepareOutput(void *ctx)
{
  RootSetUp *r = (RootSetUp *)ctx;
  PetscBool  found;

  PetscFunctionBegin;
  PetscCall(MoeCheckOutputPath("-output", r->opts->output));
  PetscCall(MoeResultsLock(r->opts->output));
  PetscCall(MoeResultsCheckExisting(r->spec, r->opts->output, r->opts->force));
  PetscCall(MoeResultsLoad(r->results, r->opts->output, r->opts->retry_failed, r->opts->force, &found));
  if (found && !r->opts->quiet) fprintf(stderr, "moerate: resuming %s: %lld of %lld tasks already done%s\n", r->opts->output, (long long)r->results->done, (long long)r->results->grid->ntasks, r->opts->retry_failed ? " (failed ones will be retried)" : "");
  PetscFunctionReturn(0);
}

typedef struct {
  MoeSpec  *spec;
  MoeTruth *truths[MOE_MAX_LIST]; /* screened, for the results file */
} TruthSelection;

static PetscErrorCode SelectTruth(void *ctx)
{
  TruthSelection *s = (TruthSelection *)ctx;

  PetscFunctionBegin;
  PetscCall(MoeTruthSelect(s->spec, s->truths));
  PetscFunctionReturn(0);
}

/* The truth's draw is chosen on rank 0 (screening costs a Fisher information per draw), which keeps the
   screened truths for its results, and sent to the others. */
static PetscErrorCode SelectTruthOnRoot(MPI_Comm comm, TruthSelection *sel)
{
  MoeSpec *spec = sel->spec;

  PetscFunctionBegin;
  PetscCall(MoeRootCheck(comm, SelectTruth, sel));
  PetscCallMPI(MPI_Bcast(spec->truth_draws, MOE_MAX_LIST, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(spec->truth_rejected, MOE_MAX_LIST, MPIU_INT, 0, comm));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadRunOptions(MPI_Comm comm, const MoeSpec *spec, MoeRunOptions *o)
{
  PetscBool yield_set;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCall(PetscStrncpy(o->output, "results.h5", sizeof(o->output)));
  o->flush_interval    = 10;
  o->progress_interval = 10;
  o->inject_nan_task   = -1;
  o->inject_error_task = -1;
  o->depth             = 2;
  o->stop_grace        = 10;
  o->test_hang_task    = -1;
  o->yield             = 0; /* off: in figure 8's model the fits handed back lose more than they gain (bench/README.md) */
  PetscOptionsBegin(comm, NULL, "moerate run: output and run control (not part of the spec)", "moerate");
  PetscCall(PetscOptionsString("-output", "the results file (HDF5); an existing one from the same spec is resumed", NULL, o->output, o->output, sizeof(o->output), NULL));
  PetscCall(PetscOptionsBool("-force", "start over when -output is from another spec or unreadable (the old file is kept as FILE.bak-TIME)", NULL, o->force, &o->force, NULL));
  PetscCall(PetscOptionsBool("-retry_failed", "run again the tasks whose fit failed", NULL, o->retry_failed, &o->retry_failed, NULL));
  PetscCall(PetscOptionsBool("-quiet", "print errors only", NULL, o->quiet, &o->quiet, NULL));
  PetscCall(PetscOptionsBool("-verbose", "print a line per finished task", NULL, o->verbose, &o->verbose, NULL));
  PetscCall(PetscOptionsReal("-flush_interval", "seconds between flushes of the results: a whole rewrite of the file, or an append to FILE.journal while rewriting would take more than 0.5% of the time (appends stretched to 0.5%: writing stays within 1%); 0: a rewrite after every result", NULL, o->flush_interval, &o->flush_interval, NULL));
  PetscCall(PetscOptionsReal("-progress_interval", "seconds between progress lines", NULL, o->progress_interval, &o->progress_interval, NULL));
  PetscCall(PetscOptionsBool("-test_flush_append", "testing: every flush but the last appends to the journal PATH.journal instead of rewriting the results file", NULL, o->test_flush_append, &o->test_flush_append, NULL));
  PetscCall(PetscOptionsReal("-test_flush_delay", "testing: seconds to wait between writing the results and renaming them into place", NULL, o->test_flush_delay, &o->test_flush_delay, NULL));
  PetscCall(PetscOptionsReal("-test_task_delay", "testing: seconds each task waits (interruptibly) before it starts, for runs of a known length", NULL, o->test_task_delay, &o->test_task_delay, NULL));
  PetscCall(PetscOptionsReal("-stop_grace", "seconds to wait for busy workers after a stop request (SIGUSR1, SIGTERM) before writing the results and leaving without them (exit status 3); keep it below the SLURM warning time", NULL, o->stop_grace, &o->stop_grace, NULL));
  PetscCall(PetscOptionsReal("-fit_group_yield", "-fit_group auto: a fit on a group smaller than the largest (and than its sample's chunks) that has lasted this many times what that group size takes for half the schedule's fair share (in seconds per expected-cost unit measured on the run's fits on such groups) is handed back and run by the largest group; the same numbers, only the time spent is lost; 0 (the default): never", NULL, o->yield, &o->yield, &yield_set));
  PetscCall(PetscOptionsInt("-queue_depth", "tasks queued on each worker", NULL, o->depth, &o->depth, NULL));
  PetscCall(PetscOptionsBool("-skip_fit", "benchmark the scheduler: tasks do nothing (recorded as skipped)", NULL, o->skip_fit, &o->skip_fit, NULL));
  {
    PetscInt t = (PetscInt)o->inject_nan_task;
    PetscCall(PetscOptionsInt("-inject_nan_task", "testing: the fit of this task id sees NaN residuals and fails", NULL, t, &t, NULL));
    o->inject_nan_task = t;
    t                  = (PetscInt)o->inject_error_task;
    PetscCall(PetscOptionsInt("-inject_error_task", "testing: the rank running this task id fails as if it could not allocate", NULL, t, &t, NULL));
    o->inject_error_task = t;
    t                    = (PetscInt)o->test_hang_task;
    PetscCall(PetscOptionsInt("-test_hang_task", "testing: the worker running this task ignores stop requests for 300 s", NULL, t, &t, NULL));
    o->test_hang_task = t;
  }
  PetscOptionsEnd();
  MoeUserCheck(o->stop_grace >= 0 && PetscIsNormalReal(o->stop_grace + 1), "-stop_grace %g must be a number of seconds >= 0", (double)o->stop_grace);
  MoeUserCheck(o->flush_interval >= 0 && o->progress_interval >= 0, "-flush_interval and -progress_interval must be >= 0 seconds");
  MoeUserCheck(o->depth >= 1 && o->depth <= 64, "-queue_depth %" PetscInt_FMT " is outside 1..64", o->depth);
  MoeUserCheck(o->yield >= 0 && PetscIsNormalReal(o->yield + 1), "-fit_group_yield %g must be a factor >= 0 (0: never hand a fit to a group)", (double)o->yield);
  MoeUserCheck(!yield_set || spec->fit_group == MOE_FIT_GROUP_AUTO, "-fit_group_yield needs -fit_group auto (fixed groups are all the same size: there is no larger group to hand a fit to); drop -fit_group_yield or use -fit_group auto");
  PetscFunctionReturn(0);
}

/* The workers: the ranks after the master, g at a time with -fit_group g (one each without it), each
   group one worker whose first rank talks to the master (src/run/worker.c); one rank alone is a group
   of one.  -fit_group auto waits for the results file (FormAutoGroups). */
static PetscErrorCode FormGroups(MPI_Comm comm, MoeSpec *spec, MoeRunOptions *opts)
{
  PetscMPIInt rank, size;
  PetscInt    g = spec->fit_group;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (g == MOE_FIT_GROUP_AUTO) PetscFunctionReturn(0);
  if (size == 1) {
    MoeUserCheck(g <= 1, "-fit_group %" PetscInt_FMT " needs 1 + a multiple of %" PetscInt_FMT " ranks (a master and groups of %" PetscInt_FMT "): start it with mpirun -n %" PetscInt_FMT " or more", g, g, g, 1 + g);
    if (g) PetscCallMPI(MPI_Comm_dup(comm, &spec->group));
    PetscFunctionReturn(0);
  }
  if (g) MoeUserCheck((size - 1) % g == 0, "-fit_group %" PetscInt_FMT ": the %d ranks after the master do not split into groups of %" PetscInt_FMT ": start mpirun with -n %" PetscInt_FMT " (1 + a multiple of %" PetscInt_FMT ")", g, size - 1, g, 1 + g * PetscMax(1, (size - 1) / g), g);
  opts->ngroups = (size - 1) / PetscMax(1, g);
  PetscCall(PetscMalloc1(opts->ngroups, &opts->group_size));
  for (PetscInt j = 0; j < opts->ngroups; j++) opts->group_size[j] = PetscMax(1, g);
  if (g) PetscCallMPI(MPI_Comm_split(comm, rank ? (int)((rank - 1) / g) : MPI_UNDEFINED, rank, &spec->group));
  PetscFunctionReturn(0);
}

/* "groups: -fit_group auto: 4 worker group(s): 1 of 4 rank(s), 3 of 1 rank(s)": the sizes by runs. */
static PetscErrorCode PrintGroupLayout(MPI_Comm comm, const MoeRunOptions *opts)
{
  char line[1024] = "", run[64];

  PetscFunctionBegin;
  for (PetscInt j = 0, k; j < opts->ngroups; j = k) {
    for (k = j; k < opts->ngroups && opts->group_size[k] == opts->group_size[j]; k++) continue;
    PetscCall(PetscSNPrintf(run, sizeof(run), "%s%" PetscInt_FMT " of %" PetscInt_FMT " rank(s)", j ? ", " : "", k - j, opts->group_size[j]));
    PetscCall(PetscStrlcat(line, run, sizeof(line)));
  }
  PetscCall(PetscPrintf(comm, "groups: -fit_group auto: %" PetscInt_FMT " worker group(s): %s\n", opts->ngroups, line));
  PetscFunctionReturn(0);
}

/* -fit_group auto: the master lays the groups out from the pending tasks' costs (MoeScheduleGroupLayout),
   largest first in rank order, and every rank joins its own. */
static PetscErrorCode FormAutoGroups(MPI_Comm comm, MoeSpec *spec, const MoeGrid *grid, MoeResults *results, MoeRunOptions *opts)
{
  PetscMPIInt rank, size;
  int         color = MPI_UNDEFINED;

  PetscFunctionBegin;
  if (spec->fit_group != MOE_FIT_GROUP_AUTO) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (size == 1) {
    PetscCallMPI(MPI_Comm_dup(comm, &spec->group));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc1(size - 1, &opts->group_size));
  if (!rank) {
    MoeSchedule *S;
    PetscCall(MoeScheduleCreate(grid, results, &S));
    PetscCall(MoeScheduleGroupLayout(S, size - 1, opts->group_size, &opts->ngroups));
    PetscCall(MoeScheduleDestroy(&S));
  }
  PetscCallMPI(MPI_Bcast(&opts->ngroups, 1, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(opts->group_size, (PetscMPIInt)opts->ngroups, MPIU_INT, 0, comm));
  if (!opts->quiet) PetscCall(PrintGroupLayout(comm, opts));
  for (PetscInt j = 0, first = 1; rank && j < opts->ngroups; first += opts->group_size[j++])
    if (rank < first + opts->group_size[j]) {
      color = (int)j;
      break;
    }
  PetscCallMPI(MPI_Comm_split(comm, color, rank, &spec->group));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeCommandRun(MPI_Comm comm, const char command[])
{
  MoeSpec      *spec;
  MoeRunOptions opts;
  MoeGrid      *grid;
  MoeResults   *results = NULL;
  MoeModel      m;
  PetscMPIInt   rank, size;
  PetscBool     help;
  RootSetUp      root;
  MoeTruthFile  *tf;
  TruthSelection sel = {NULL, {NULL}};

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(MoeStoreReadTruthFile(comm, &tf));
  PetscCall(MoeSpecCreate(comm, NULL, PETSC_TRUE, tf, &spec));
  PetscCall(ReadRunOptions(comm, spec, &opts));
  PetscCall(FormGroups(comm, spec, &opts));
  PetscCall(MoeModelCreate(spec->gatings[0], spec->experts[0], spec->k, spec->d, NULL, NULL, &m));
  PetscCall(MoeCheckTaoOptions(spec, m)); /* also lists the TAO options under -help */
  PetscCall(MoeModelDestroy(&m));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    if (spec->group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&spec->group));
    PetscCall(PetscFree(opts.group_size));
    PetscCall(MoeSpecDestroy(&spec));
    PetscFunctionReturn(0);
  }
  PetscCall(MoeCheckUnusedOptions(comm));
  sel.spec = spec;
  PetscCall(SelectTruthOnRoot(comm, &sel));
  PetscCall(MoeGridCreate(spec, &grid));
  MoeUserCheck(opts.inject_error_task < grid->ntasks, "-inject_error_task %" PetscInt64_FMT " is not a task id (0..%" PetscInt64_FMT ")", opts.inject_error_task, grid->ntasks - 1);
  MoeUserCheck(opts.inject_nan_task < grid->ntasks, "-inject_nan_task %" PetscInt64_FMT " is not a task id (0..%" PetscInt64_FMT ")", opts.inject_nan_task, grid->ntasks - 1);
  if (!rank) PetscCall(MoeResultsCreate(grid, sel.truths, &results));
  root.spec    = spec;
  root.opts    = &opts;
  root.results = results;
  PetscCall(MoeRootCheck(comm, PrepareOutput, &root));
  PetscCall(FormAutoGroups(comm, spec, grid, results, &opts));
  if (!rank && !opts.quiet)
    for (PetscInt e = 0; e < (spec->truth_expert[0] ? 1 : spec->nexperts); e++) PetscCall(MoePrintFisherLine(PETSC_COMM_SELF, spec, results->truths[e]));
  if (size == 1) PetscCall(MoeRunSerial(grid, results, &opts, command));
  else if (!rank) PetscCall(MoeRunMaster(grid, results, &opts, command));
  else PetscCall(MoeRunWorker(grid, &opts));
  { /* every rank leaves with the master's status */
    int status = MoeExitStatus();
    PetscCallMPI(MPI_Bcast(&status, 1, MPI_INT, 0, comm));
    MoeSetExitStatus(status);
  }
  if (!rank) PetscCall(MoeResultsUnlock());
  PetscCall(MoeResultsDestroy(&results));
  PetscCall(MoeGridDestroy(&grid));
  if (spec->group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&spec->group));
  PetscCall(PetscFree(opts.group_size));
  PetscCall(MoeSpecDestroy(&spec));
  PetscFunctionReturn(0);
}
