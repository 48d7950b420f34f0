/* The results file on the filesystem: durable renames, backups that never replace each other, the lock of
   a run on its output, and the temporaries a killed run left. */
#define _GNU_SOURCE /* renameat2: a backup never replaces an earlier one */
#include <moe/private/storeimpl.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <dirent.h>
#include <libgen.h>
#include <errno.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

/* Make the directory entries of path's directory durable (a rename, a new file). */
PetscErrorCode MoeSyncDirectory(const char path[])
{
  char dir[PETSC_MAX_PATH_LEN];
  int  fd;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  fd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
  if (fd < 0) PetscFunctionReturn(0); /* not every filesystem lets a directory be opened */
  fsync(fd); /* some filesystems refuse fsync on directories: what they do not order they do not promise */
  close(fd);
  PetscFunctionReturn(0);
}

/* Rename from to stem (stem-<i> when that exists: nothing is ever replaced).  moved is false
   when from does not exist; any other failure is an error naming both paths. */
PetscErrorCode MoeRenameAside(const char what[], const char from[], const char stem[], char chosen[], size_t len, PetscBool *moved)
{
  int i, r = -1;

  PetscFunctionBegin;
  *moved = PETSC_FALSE;
  for (i = 0; i < 1000 && r; i++) {
    if (i) PetscCall(PetscSNPrintf(chosen, len, "%s-%d", stem, i));
    else PetscCall(PetscStrncpy(chosen, stem, len));
    r = renameat2(AT_FDCWD, from, AT_FDCWD, chosen, RENAME_NOREPLACE);
    if (r && errno == ENOENT) PetscFunctionReturn(0);
    if (r && errno != EEXIST) break;
  }
  MoeUserCheck(r == 0, "%s %s must be kept aside but cannot be moved to %s (%s): move it away yourself, then rerun", what, from, chosen, strerror(errno));
  *moved = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* -force: keep an unusable output as PATH.bak-<time> (PATH.bak-<time>-<i> when that exists:
   an earlier backup is never replaced), and its journal as PATH.bak-<time>.journal beside it;
   the run then starts over. */
PetscErrorCode MoeResultsBackup(const char path[], const char why[])
{
  char      stem[PETSC_MAX_PATH_LEN + 32], bak[PETSC_MAX_PATH_LEN + 64], journal[PETSC_MAX_PATH_LEN + 16], bakjournal[PETSC_MAX_PATH_LEN + 96];
  PetscBool moved;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(stem, sizeof(stem), "%s.bak-%ld", path, (long)time(NULL)));
  PetscCall(MoeRenameAside("-output", path, stem, bak, sizeof(bak), &moved));
  MoeUserCheck(moved, "-output %s %s, and it disappeared while being kept aside", path, why);
  fprintf(stderr, "moerate: -force: %s %s; kept it as %s and starting over\n", path, why, bak);
  PetscCall(MoeJournalPath(path, journal, sizeof(journal)));
  PetscCall(MoeJournalPath(bak, stem, sizeof(stem)));
  PetscCall(MoeRenameAside("the journal of -output", journal, stem, bakjournal, sizeof(bakjournal), &moved));
  if (moved) fprintf(stderr, "moerate: -force: its journal %s kept as %s\n", journal, bakjournal);
  PetscFunctionReturn(0);
}

static int  lock_fd = -1;
static char lock_path[PETSC_MAX_PATH_LEN + 8];

/* One run per results file: an exclusive lock on PATH.lock for the whole run (two runs
   replacing the same file would each drop the other's results).  Temporary files left by
   a killed run are removed once the lock is held. */
/* Remove the temporary files PATH.tmp-<pid> a killed run left: names compared literally (an
   output name with glob characters must not match another run's files). */
static PetscErrorCode RemoveStaleTemporaries(const char path[])
{
  char           dir[PETSC_MAX_PATH_LEN], base[PETSC_MAX_PATH_LEN], prefix[PETSC_MAX_PATH_LEN + 8], file[2 * PETSC_MAX_PATH_LEN + 2];
  DIR           *d;
  struct dirent *e;
  size_t         len;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
  PetscCall(PetscStrncpy(base, path, sizeof(base)));
  PetscCall(PetscSNPrintf(prefix, sizeof(prefix), "%s.tmp-", basename(base)));
  len = strlen(prefix);
  d   = opendir(dirname(dir));
  if (!d) PetscFunctionReturn(0);
  while ((e = readdir(d))) {
    const char *pid = e->d_name + len;
    if (strncmp(e->d_name, prefix, len) || !*pid || strspn(pid, "0123456789") != strlen(pid)) continue;
    PetscCall(PetscSNPrintf(file, sizeof(file), "%s/%s", dir, e->d_name));
    unlink(file);
  }
  closedir(d);
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsLock(const char path[])
{
  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(lock_path, sizeof(lock_path), "%s.lock", path));
  /* never through a symbolic link (a dangling one would get its target created), never
     blocking (a FIFO planted there) */
  lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  MoeUserCheck(lock_fd >= 0 || errno != ELOOP, "-output %s: its lock file %s is a symbolic link: remove it (moerate creates the lock file itself), then rerun", path, lock_path);
  MoeUserCheck(lock_fd >= 0, "-output %s: cannot create the lock file %s (%s)", path, lock_path, strerror(errno));
  {
    struct stat st;
    if (fstat(lock_fd, &st) || !S_ISREG(st.st_mode)) {
      close(lock_fd);
      lock_fd = -1;
      MoeUserError("-output %s: its lock file %s is not a regular file (a FIFO, socket or device): remove it, then rerun", path, lock_path);
    }
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB)) {
    int e = errno;
    close(lock_fd);
    lock_fd = -1;
    MoeUserCheck(e != EWOULDBLOCK, "-output %s is being written by another moerate run (lock %s is held): wait for it to finish or choose another -output", path, lock_path);
    MoeUserError("-output %s: cannot lock %s (%s): this filesystem does not support flock (some Lustre and NFS mounts); write the output to a filesystem that does, e.g. node-local or home storage", path, lock_path, strerror(e));
  }
  PetscCall(RemoveStaleTemporaries(path));
  PetscFunctionReturn(0);
}

PetscErrorCode MoeResultsUnlock(void)
{
  PetscFunctionBegin;
  if (lock_fd >= 0) {
    unlink(lock_path);
    close(lock_fd);
    lock_fd = -1;
  }
  PetscFunctionReturn(0);
}
