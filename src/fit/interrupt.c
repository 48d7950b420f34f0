/* Stop requests reach a fit between iterations: the run sets a check, every TAO solve polls it. */
#include <moe/private/fitimpl.h>

static PetscBool (*interrupt_check)(void *) = NULL;
static void *interrupt_ctx                = NULL;

PetscErrorCode MoeFitSetInterrupt(PetscBool (*check)(void *), void *ctx)
{
  PetscFunctionBegin;
  interrupt_check = check;
  interrupt_ctx   = ctx;
  PetscFunctionReturn(0);
}

/* Has the interrupt check fired (a stop request)? */
PetscBool MoeFitInterruptSet(void)
{
  return (PetscBool)(interrupt_check != NULL);
}

PetscBool MoeFitInterrupted(void)
{
  return interrupt_check && interrupt_check(interrupt_ctx) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode MoeFitInterruptMonitor(Tao tao, void *ctx)
{
  PetscBool *interrupted = (PetscBool *)ctx;

  PetscFunctionBegin;
  if (MoeFitInterrupted()) {
    *interrupted = PETSC_TRUE;
    PetscCall(TaoSetConvergedReason(tao, TAO_DIVERGED_USER));
  }
  PetscFunctionReturn(0);
}
