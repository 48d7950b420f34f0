/* Checks shared by the subcommands, run before any work starts. */
#include <moecmd.h>
#include <moeestimator.h>
#include <libgen.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <limits.h>

/* moerate keeps files beside its output under derived names (PATH.lock, PATH.journal,
   PATH.tmp-<pid>, PATH.bak-<time>-<i>.journal): each must fit the filesystem's limits on a
   name and a path, or the run would fail late, after hours of fitting. */
static PetscErrorCode CheckDerivedNames(const char option[], const char path[])
{
  const char *longest = ".bak-2147483647-999.journal";
  const char *base    = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t      room    = NAME_MAX - strlen(longest);

  PetscFunctionBegin;
  MoeUserCheck(strlen(path) + strlen(longest) < PETSC_MAX_PATH_LEN, "%s: the path is %zu characters long, and with the suffixes moerate adds beside it (e.g. %s) it passes the %d characters a path may have: choose a shorter path", option, strlen(path), longest, PETSC_MAX_PATH_LEN - 1);
  MoeUserCheck(strlen(base) <= room, "%s %s: the file name is %zu characters long, and with the suffixes moerate adds beside it (e.g. %s) it passes the %d characters a name may have: choose a name of at most %zu characters", option, path, strlen(base), longest, NAME_MAX, room);
  PetscFunctionReturn(0);
}

/* The output's directory must exist and be writable: a file is created there and removed
   (access(2) says yes to root even where creating a file fails). */
PetscErrorCode MoeCheckOutputPath(const char option[], const char path[])
{
  char      dir[PETSC_MAX_PATH_LEN], probe[PETSC_MAX_PATH_LEN + 64];
  PetscBool isdir;
  int       fd;

  PetscFunctionBegin;
  MoeUserCheck(path[0], "%s is empty: give the path of an HDF5 file", option);
  PetscCall(CheckDerivedNames(option, path));
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  PetscCall(PetscTestDirectory(dirname(dir), 'r', &isdir));
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  MoeUserCheck(isdir, "%s %s: the directory %s does not exist; create it first", option, path, dirname(dir));
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  PetscCall(PetscSNPrintf(probe, sizeof(probe), "%s/.moerate-probe-%d", dirname(dir), (int)getpid()));
  fd = open(probe, O_CREAT | O_EXCL | O_WRONLY, 0600);
  MoeUserCheck(fd >= 0, "%s %s: cannot create files in its directory (%s); choose another output path", option, path, strerror(errno));
  close(fd);
  unlink(probe);
  PetscCall(PetscTestDirectory(path, 'r', &isdir));
  MoeUserCheck(!isdir, "%s %s is a directory: give the path of an HDF5 file", option, path);
  PetscCall(MoeCheckOutputIsPlain(option, path));
  PetscFunctionReturn(0);
}

/* An existing output must be a regular file with one name: moerate replaces it by renaming a
   new file over it, which would replace a symbolic link (not its target) or a device node, and
   its lock is taken per name, so a second hard link would let two runs write it at once.  Such
   outputs are refused (also with -force) and left as they are. */
PetscErrorCode MoeCheckOutputIsPlain(const char option[], const char path[])
{
  struct stat st;

  PetscFunctionBegin;
  if (lstat(path, &st)) PetscFunctionReturn(0); /* does not exist yet */
  MoeUserCheck(!S_ISLNK(st.st_mode), "%s %s is a symbolic link: give the path of the file itself (moerate replaces its output by rename, which would replace the link)", option, path);
  MoeUserCheck(S_ISREG(st.st_mode), "%s %s is not a regular file (a FIFO, socket or device): give the path of an HDF5 file", option, path);
  MoeUserCheck(st.st_nlink == 1, "%s %s has %lu hard links: give a file with one name (two names would let two runs write it at once)", option, path, (unsigned long)st.st_nlink);
  PetscFunctionReturn(0);
}

/* Options that nothing read are typos: refuse them rather than silently ignore them.
   Options of PETSc's components (ksp_, pc_, ...) can be read as late as the end of a solve,
   so only moerate's own namespace and TAO's are checked.  The TAO object of the fit has read
   its options by now (MoeFitCheckOptions), except these, read at set-up or at the end of a
   solve. */
static const char *late[] = {"tao_converged_reason", "tao_view", "tao_monitor", "tao_brgn_", "tao_test_", "tao_ls_", "tao_lmvm_", "tao_blmvm_", "tao_bqn", "ksp_", "pc_", "mat_", "vec_", "snes_", "options_", "log", "malloc", "info", "on_error", "checkstack", "help", "version", "viewer_", "draw_", "fp_trap", "no_signal_handler", "history", NULL};

/* An option of a list of name prefixes (the late ones, or the estimators' own TAO prefixes). */
static PetscBool HasPrefix(const char *name, const char *const *prefixes)
{
  for (; *prefixes; prefixes++)
    if (!strncmp(name, *prefixes, strlen(*prefixes))) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* The TAO options of the least-squares fits: the global ones, and those of the estimators of the spec
   that fit the regression model with a TAO of their own (-brgn_tao_...). */
PetscErrorCode MoeCheckTaoOptions(const MoeSpec *spec, MoeModel m)
{
  PetscFunctionBegin;
  PetscCall(MoeFitCheckOptions(m, NULL, (PetscBool)(spec->fit_group != 0 && m->type == MOE_MODEL_REGRESSION)));
  for (PetscInt i = 0; i < spec->nestimators; i++) {
    const MoeEstimatorFamily *f = MoeEstimatorGetFamily(spec->estimator[i]);
    if (f->tao_prefix && MoeEstimatorEstimates(f, MOE_MODEL_REGRESSION) && m->type == MOE_MODEL_REGRESSION) PetscCall(MoeFitCheckOptions(m, f->tao_prefix, PETSC_FALSE)); /* its estimator (brgn) is refused with -fit_group */
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MoeCheckUnusedOptions(MPI_Comm comm)
{
  PetscInt           n, i;
  char             **names, **values;
  const char *const *own;

  PetscFunctionBegin;
  PetscCall(MoeEstimatorTaoPrefixes(&own));
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  for (i = 0; i < n; i++) {
    if (HasPrefix(names[i], late) || HasPrefix(names[i], own)) continue;
    {
      char name[256];
      PetscCall(PetscStrncpy(name, names[i], sizeof(name)));
      PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
      MoeUserError("option -%s is not a moerate, TAO or PETSc option of this command (a typo?): see `moerate %s -help`", name, "fit|run");
    }
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscFunctionReturn(0);
}

/* Run fn on rank 0 only; its error, if any, is raised on every rank with the same message,
   so that no rank is left waiting for the others. */
PetscErrorCode MoeRootCheck(MPI_Comm comm, PetscErrorCode (*fn)(void *), void *ctx)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  int            code;
  char           msg[MOE_MESSAGE_LEN] = "";

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = (*fn)(ctx);
    PetscCall(PetscPopErrorHandler());
    if (ierr) {
      PetscCall(PetscStrncpy(msg, MoeErrorText(ierr), sizeof(msg)));
    }
  }
  code = (int)ierr;
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(msg, sizeof(msg), MPI_CHAR, 0, comm));
  if (code == MOE_ERR_USER) MoeUserError("%s", msg);
  PetscCheck(!code, comm, (PetscErrorCode)code, "on rank 0: %s", msg);
  PetscFunctionReturn(0);
}

/* The screening of a truth in one line: its Fisher information, the sd along its weakest
   direction at the smallest n, the verdict, and which draw of its seed it is. */
PetscErrorCode MoePrintFisherLine(MPI_Comm comm, const MoeSpec *s, const MoeTruth *t)
{
  PetscReal lmin = t->fisher[0], lmax = t->fisher[t->model->pfree - 1];
  char      draws[64] = "", verdict[600], sd[32];

  PetscFunctionBegin;
  if (t->sd >= PETSC_INFINITY) PetscCall(PetscStrncpy(sd, "infinite (singular)", sizeof(sd)));
  else PetscCall(PetscSNPrintf(sd, sizeof(sd), "%.2g", (double)t->sd));
  PetscInt  rejected = t->rejected;

  if (rejected) PetscCall(PetscSNPrintf(draws, sizeof(draws), "; %" PetscInt_FMT " earlier draws rejected", rejected));
  if (t->wellposed) PetscCall(PetscSNPrintf(verdict, sizeof(verdict), "well posed (-truth_max_sd %g)", (double)s->truth_max_sd));
  else PetscCall(PetscSNPrintf(verdict, sizeof(verdict), "ILL POSED, measured under -allow_ill_posed: %s", t->why));
  PetscCall(PetscPrintf(comm, "Fisher: truth %s x %s (%s%s): eigenvalues of %s %.2e .. %.2e; sd along the weakest direction at n = %" PetscInt_FMT ": %s; %s\n", t->model->gfamily->name, t->model->efamily->name, t->source, draws, t->model->ns ? "the likelihood's Fisher information" : "J^T J/n", (double)lmin, (double)lmax, s->ns[0], sd, verdict));
  PetscFunctionReturn(0);
}
