/* Error reporting: user-input errors and failed writes are one line; everything else keeps
   PETSc's traceback. */
#include <moerate.h>

static char moe_user_message[1024] = "";
static char moe_full_message[MOE_MESSAGE_LEN] = ""; /* the last message raised by MoeRaise, whole */

/* Raise code with a message of any length: kept whole here, handed to PetscError (which keeps
   its first 1023 characters) for the usual error chain. */
PetscErrorCode MoeRaise(int line, const char *func, const char *file, PetscErrorCode code, const char *fmt, ...)
{
  static char scratch[MOE_MESSAGE_LEN]; /* the arguments may point into moe_full_message */
  va_list     ap;

  va_start(ap, fmt);
  vsnprintf(scratch, sizeof(scratch), fmt, ap);
  va_end(ap);
  memcpy(moe_full_message, scratch, sizeof(scratch));
  return PetscError(PETSC_COMM_SELF, line, func, file, code, PETSC_ERROR_INITIAL, "%s", moe_full_message);
}

/* The message of error ierr as one line: the whole message MoeRaise kept when PETSc's copy is
   its beginning, else PETSc's. */
const char *MoeErrorText(PetscErrorCode ierr)
{
  const char *text = NULL;
  char       *specific = NULL;

  PetscErrorMessage(ierr, &text, &specific);
  /* PETSc's copy was cut (its first 1023 characters) or is the same: not a shorter, unrelated
     message that happens to begin an older one */
  if (specific && specific[0] && !strncmp(specific, moe_full_message, strlen(specific)) && (strlen(specific) >= 1000 || !moe_full_message[strlen(specific)])) return moe_full_message;
  if (specific && specific[0]) return specific;
  return text ? text : "unknown error";
}

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
  PetscMPIInt rank;

  MPI_Comm_rank(comm, &rank);
  if (ierr == MOE_ERR_USER) {
    if (!rank) fprintf(stderr, "moerate: error: %s\n", moe_user_message[0] ? moe_user_message : MoeErrorText(ierr));
    *status = MOE_EXIT_USAGE;
  } else if (ierr == MOE_ERR_IO) {
    if (!rank) fprintf(stderr, "moerate: error: %s\n", MoeErrorText(ierr));
    *status = MOE_EXIT_FAILURE;
  } else *status = MOE_EXIT_FAILURE;
  return 0;
}
