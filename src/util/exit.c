/* The exit status a command chose (moerate.h: MOE_EXIT_*). */
#include <moerate.h>

static int moe_exit_status = MOE_EXIT_OK;

void MoeSetExitStatus(int status)
{
  moe_exit_status = status;
}

int MoeExitStatus(void)
{
  return moe_exit_status;
}
