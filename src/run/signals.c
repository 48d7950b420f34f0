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

static void StopSignals(sigset_t *set)
{
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGUSR1);
  sigaddset(set, SIGINT);
}

/* First thing in main: hold stop requests until the handlers are installed.  The mask survives
   the execv of MoeBlasSelectKernels and PetscInitialize (which installs PETSc's own SIGTERM
   handler), so a SIGTERM during the set-up is delivered to OnStopSignal afterwards instead of
   killing the rank (exit 143, which a stop early in a run's life used to give).  main holds them
   again once the run is over, for the same reason: PetscFinalize resets SIGTERM to its default. */
void MoeDeferStopSignals(void)
{
  sigset_t set;

  StopSignals(&set);
  sigprocmask(SIG_BLOCK, &set, NULL);
}

/* After PetscInitialize: install the handlers, then deliver what MoeDeferStopSignals held. */
PetscErrorCode MoeInstallStopHandlers(void)
{
  struct sigaction sa;
  sigset_t         set;

  PetscFunctionBegin;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  PetscCheck(sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGUSR1, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the signal handlers");
  StopSignals(&set);
  PetscCheck(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot unblock the stop signals");
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
