/* A preloaded shim (LD_PRELOAD) for the reliability tests: makes flock() or fsync() fail the way
   some shared filesystems do, chosen by MOE_TEST_FAIL=flock|fsync|fdatasync, or fills the disk:
   MOE_TEST_FAIL=enospc makes write() and pwrite() to regular files fail with ENOSPC once
   MOE_TEST_FAIL_AFTER bytes (default 0) have been written to them, counting only files whose
   path contains MOE_TEST_FAIL_PATH when that is set.  Everything else is libc's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/* Whether a write of len bytes to fd finds the disk full: the regular files written so far
   (those whose path contains MOE_TEST_FAIL_PATH, when set) hold MOE_TEST_FAIL_AFTER bytes. */
static int disk_full(int fd, size_t len)
{
  static unsigned long long written = 0;
  const char               *after = getenv("MOE_TEST_FAIL_AFTER"), *part = getenv("MOE_TEST_FAIL_PATH");
  struct stat               st;

  if (!failing("enospc") || fstat(fd, &st) || !S_ISREG(st.st_mode)) return 0;
  if (part && part[0]) {
    char    link[64], path[PATH_MAX];
    ssize_t n;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n < 0) return 0;
    path[n] = 0;
    if (!strstr(path, part)) return 0;
  }
  if (written + len > (after ? strtoull(after, NULL, 10) : 0)) {
    errno = ENOSPC;
    return 1;
  }
  written += len;
  return 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
  if (disk_full(fd, len)) return -1;
  return ((ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write"))(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
  if (disk_full(fd, len)) return -1;
  return ((ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite"))(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
  if (disk_full(fd, len)) return -1;
  return ((ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64"))(fd, buf, len, off);
}
