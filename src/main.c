/* moerate: empirical convergence rates of mixture-of-experts estimators.
     moerate fit [options]   one replicate: generate, fit, losses (one rank)
     moerate run [options]   a whole experiment grid over MPI ranks into one HDF5 file */
#include <moerate.h>
#include <moecmd.h>
#include <moestore.h>

static const char help[] = "moerate " MOERATE_VERSION ": empirical convergence rates of mixture-of-experts estimators.\n"
                           "Usage: moerate fit [options]   one replicate (see -help for every option)\n"
                           "       moerate run [options]   an experiment grid over MPI ranks, e.g.\n"
                           "       mpirun -n 4 moerate run -options_file_yaml jobs/p1_quick.yaml\n\n";

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  int            status = MOE_EXIT_OK, i;
  const char    *cmd    = argc > 1 ? argv[1] : "";
  char           command[4096] = "moerate";
  PetscBool      isfit = (PetscBool)!strcmp(cmd, "fit"), isrun = (PetscBool)!strcmp(cmd, "run");

  if (!isfit && !isrun) {
    fprintf(stderr, "%s", help);
    return (!strcmp(cmd, "-help") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) ? MOE_EXIT_OK : MOE_EXIT_USAGE;
  }
  for (i = 1; i < argc; i++) { /* the command line, for provenance */
    strncat(command, " ", sizeof(command) - strlen(command) - 1);
    strncat(command, argv[i], sizeof(command) - strlen(command) - 1);
  }
  argv[1] = argv[0]; /* PETSc sees the options only */
  argc--;
  argv++;
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCall(MoePushErrorHandler());
  PetscCall(MoeH5Initialize());
  ierr = isfit ? MoeCommandFit(PETSC_COMM_WORLD, command) : MoeCommandRun(PETSC_COMM_WORLD, command);
  if (ierr) {
    PetscCall(MoeErrorReport(PETSC_COMM_WORLD, ierr, &status));
    if (status == MOE_EXIT_FAILURE) { /* an internal error on some rank: end the whole job */
      PetscMPIInt size;
      MPI_Comm_size(PETSC_COMM_WORLD, &size);
      if (size > 1) MPI_Abort(PETSC_COMM_WORLD, MOE_EXIT_FAILURE);
    }
  }
  if (!ierr) status = MoeExitStatus();
  PetscCall(PetscFinalize());
  return status;
}
