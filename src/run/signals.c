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

static int CatchStopSignals(void)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(SIGTERM, &sa, NULL) || sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGINT, &sa, NULL);
}

/* First thing in main: hold stop requests until the handlers are installed.  The mask survives
   the execv of MoeBlasSelectKernels and PetscInitialize (which installs PETSc's own SIGTERM
   handler), so a SIGTERM during the set-up is delivered to OnStopSignal afterwards instead of
   killing the rank (exit 143, which a stop early in a run's life used to give).  The mask is this
   thread's alone: threads started before main (a threaded OpenBLAS's pool) may still take the
   signal, so the handler is installed as well (process-wide).  What remains open: the dynamic
   loader's time before main, and, with such threads, PetscInitialize's own SIGTERM handler. */
void MoeDeferStopSignals(void)
{
  sigset_t set;

  StopSignals(&set);
  sigprocmask(SIG_BLOCK, &set, NULL);
  (void)CatchStopSignals();
}

/* After PetscInitialize: install the handlers, then deliver what MoeDeferStopSignals held. */
PetscErrorCode MoeInstallStopHandlers(void)
{
  sigset_t set;

  PetscFunctionBegin;
  PetscCheck(CatchStopSignals() == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the signal handlers");
  StopSignals(&set);
  PetscCheck(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot unblock the stop signals");
  PetscFunctionReturn(0);
}

/* Once the run has ended: PetscFinalize pops PETSc's signal handler, and popping the last one resets
   SIGTERM to its default, so a late stop request would kill the rank with 143 instead of the status
   the run earned.  Pop it here and put the stop handler back (its flag is read by no one now);
   PetscFinalize's pop then finds no handler and changes nothing. */
PetscErrorCode MoeKeepStopHandlersPastFinalize(void)
{
  PetscFunctionBegin;
  PetscCall(PetscPopSignalHandler());
  PetscCheck(CatchStopSignals() == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the signal handlers");
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
