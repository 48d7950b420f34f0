/* Error reporting: user-input errors and failed writes are one line; everything else keeps
   PETSc's traceback. */
#include <moerate.h>

static char moe_user_message[1024] = "";

/* User-input errors (MOE_ERR_USER) and failures to write a file (MOE_ERR_IO) print nothing
   here: main() prints their message as one line.  A value of the wrong type given to an
   option (PETSc's PetscOptionsStringTo* fail) is a user-input error too.  Other errors go to
   PETSc's traceback handler. */
static PetscErrorCode MoeErrorHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  if (n == MOE_ERR_USER || n == MOE_ERR_IO) return n;
  if (p == PETSC_ERROR_INITIAL && fun && !strncmp(fun, "PetscOptionsStringTo", 20)) {
    snprintf(moe_user_message, sizeof(moe_user_message), "an option has a value of the wrong type: %s; fix that value in the command line or spec file", mess ? mess : "");
    return MOE_ERR_USER;
  }
  return PetscTraceBackErrorHandler(comm, line, fun, file, n, p, mess, ctx);
}

PetscErrorCode MoePushErrorHandler(void)
{
  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(MoeErrorHandler, NULL));
  PetscFunctionReturn(0);
}

/* Print a user-input error, or a failure to write a file, as one line on rank 0 of comm; set
   the exit status. */
PetscErrorCode MoeErrorReport(MPI_Comm comm, PetscErrorCode ierr, int *status)
{
  const char *text, *specific = NULL;
  PetscMPIInt rank;

  MPI_Comm_rank(comm, &rank);
  if (ierr == MOE_ERR_USER) {
    PetscErrorMessage(ierr, &text, (char **)&specific);
    if (moe_user_message[0]) specific = moe_user_message;
    if (!rank) fprintf(stderr, "moerate: error: %s\n", specific && specific[0] ? specific : text);
    *status = MOE_EXIT_USAGE;
  } else if (ierr == MOE_ERR_IO) {
    PetscErrorMessage(ierr, &text, (char **)&specific);
    if (!rank) fprintf(stderr, "moerate: error: %s\n", specific && specific[0] ? specific : text);
    *status = MOE_EXIT_FAILURE;
  } else *status = MOE_EXIT_FAILURE;
  return 0;
}
