/* Stop requests.  SIGTERM, SIGUSR1 (what SLURM sends before the walltime) and SIGINT (Ctrl-C) only
   set a flag; the master then stops handing out work, collects the tasks in flight (workers
   abandon their fits), writes the results file and exits with MOE_EXIT_STOPPED. */
#include <moerun.h>
#include <signal.h>

static volatile sig_atomic_t stop_requested = 0;

static void OnStopSignal(int sig)
{
  stop_requested = 1;
}

/* After PetscInitialize, which installs PETSc's own handler for SIGTERM. */
PetscErrorCode MoeInstallStopHandlers(void)
{
  struct sigaction sa;

  PetscFunctionBegin;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  PetscCheck(sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGUSR1, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the signal handlers");
  PetscFunctionReturn(0);
}

PetscBool MoeStopRequested(void)
{
  return stop_requested ? PETSC_TRUE : PETSC_FALSE;
}

void MoeRequestStop(void)
{
  stop_requested = 1;
}
