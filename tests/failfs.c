/* A preloaded shim (LD_PRELOAD) for the reliability tests: makes flock() or fsync() fail the way
   some shared filesystems do, chosen by MOE_TEST_FAIL=flock|fsync|fdatasync.  Everything else is libc's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int failing(const char *what)
{
  const char *f = getenv("MOE_TEST_FAIL");
  return f && !strcmp(f, what);
}

int flock(int fd, int op)
{
  if (failing("flock")) {
    errno = ENOLCK; /* Lustre mounted without -o flock, NFS without lockd */
    return -1;
  }
  return ((int (*)(int, int))dlsym(RTLD_NEXT, "flock"))(fd, op);
}

int fsync(int fd)
{
  if (failing("fsync")) {
    errno = EIO;
    return -1;
  }
  return ((int (*)(int))dlsym(RTLD_NEXT, "fsync"))(fd);
}

int fdatasync(int fd)
{
  if (failing("fdatasync")) {
    errno = EIO;
    return -1;
  }
  return ((int (*)(int))dlsym(RTLD_NEXT, "fdatasync"))(fd);
}
