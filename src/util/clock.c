/* Wall-clock time for the task records. */
#include <moerate.h>
#include <sys/time.h>

PetscLogDouble MoeWallTime(void)
{
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (PetscLogDouble)tv.tv_sec + 1e-6 * (PetscLogDouble)tv.tv_usec;
}
