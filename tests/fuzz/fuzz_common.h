/* Shared set-up of moerate's libFuzzer harnesses (tests/fuzz/README.md).

   Every harness runs in one process for millions of inputs, so this header provides:
   - FuzzInit: MPI_Init (singleton, no mpirun) + PetscInitialize once, PETSc errors returned as codes
     (PetscReturnErrorHandler), HDF5's error printing off (MoeH5Initialize), moerate's families
     registered, and a private temporary directory (mkdtemp under /tmp) removed at exit.
   - A reclaimer of what moerate's error paths leave allocated.  moerate reports bad input by returning a
     PETSc error up to main(), which exits; objects allocated before the error are not freed on the way
     (e.g. MoeSpecCreate's spec, MoeStoreReadTruthFile's MoeTruthFile and its 8 MB theta).  That is
     harmless for the command line, but a fuzzer running millions of bad inputs would run out of memory
     in minutes.  So FuzzIterBegin/FuzzIterEnd wrap PETSc's allocator (PetscTrMalloc/PetscTrFree/
     PetscTrRealloc, chained to the originals): every PetscMalloc made from moerate's own sources
     (__FILE__ under MOE_FUZZ_SRC) during one input and not freed by its end is freed by FuzzIterEnd, and
     its allocation site is printed once ("fuzz: leak reclaimed ...").  PETSc's own allocations are left
     alone (PETSc keeps lazily registered state).  Options databases created with PetscOptionsCreate and
     never destroyed are reclaimed the same way: the harnesses link with
     -Wl,--wrap=PetscOptionsCreate,--wrap=PetscOptionsDestroy (calls from moerate's objects reach the
     wrappers below; PETSc's internal calls are not wrapped).
   - exit() during an input: none of the readers calls exit() (bad input comes back as MOE_ERR_USER), but
     to make sure a future one is noticed, the harnesses link with -Wl,--wrap=exit: an exit() while an
     input is being processed aborts with a message (libFuzzer then reports it as a crash with its stack);
     libFuzzer's own exit() at the end of a run is passed through.
   - Leak checks of HDF5 identifiers and file descriptors: after each input the harness compares the
     number of open HDF5 files/objects, datatypes and dataspaces, and of file descriptors, with those
     before it and prints the first growth of each ("fuzz: ... leaked"); open files are then closed.
     With MOE_FUZZ_STRICT=1 in the environment, any such leak aborts instead (a crash libFuzzer saves). */
#ifndef MOE_FUZZ_COMMON_H
#define MOE_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <moerate.h>
#include <moestore.h>
#include <moespec.h>
#include <moegrid.h>
#include <moedata.h>
#include <moeregistry.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdarg.h>

#ifndef MOE_FUZZ_SRC
  #define MOE_FUZZ_SRC "/src/" /* build.sh passes the absolute path of moerate's src/ */
#endif

PETSC_EXTERN PetscErrorCode MoeGatingRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeExpertRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeLossRegisterAll(void);
PETSC_EXTERN PetscErrorCode MoeEstimatorRegisterAll(void);

static char fz_dir[256];         /* the per-process temporary directory */
static int  fz_in_input = 0;     /* inside LLVMFuzzerTestOneInput */
static int  fz_strict   = 0;     /* MOE_FUZZ_STRICT: abort on a leak of HDF5 ids or fds */
static int  fz_quiet    = 1;     /* silence moerate's stderr lines (MOE_FUZZ_VERBOSE=1 keeps them) */

/* ---------- exit() during an input ---------- */
void __real_exit(int) __attribute__((noreturn));
void __wrap_exit(int status) __attribute__((noreturn));
void __wrap_exit(int status)
{
  if (fz_in_input) {
    fprintf(stderr, "fuzz: exit(%d) called while reading an input: a reader must return an error, not exit\n", status);
    abort();
  }
  __real_exit(status);
}

/* ---------- the reclaimer of moerate's allocations ---------- */
typedef struct {
  void       *p;
  int         line;
  const char *func, *file;
} FzAlloc;

#define FZ_TABLE (1u << 16)
static FzAlloc fz_table[FZ_TABLE]; /* open addressing, key p; tombstones are (void *)1 */
static int     fz_tracking = 0;
static size_t  fz_reclaimed = 0, fz_reclaimed_bytes = 0;
static PetscErrorCode (*fz_malloc0)(size_t, PetscBool, int, const char[], const char[], void **);
static PetscErrorCode (*fz_free0)(void *, int, const char[], const char[]);
static PetscErrorCode (*fz_realloc0)(size_t, int, const char[], const char[], void **);

static size_t FzHash(void *p)
{
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= 0x9E3779B97F4A7C15ull;
  return (size_t)(x >> 20) & (FZ_TABLE - 1);
}

static int FzIsMoerate(const char *file)
{
  return file && !strncmp(file, MOE_FUZZ_SRC, strlen(MOE_FUZZ_SRC));
}

static void FzAdd(void *p, int line, const char *func, const char *file)
{
  size_t h = FzHash(p);
  for (size_t i = 0; i < FZ_TABLE; i++, h = (h + 1) & (FZ_TABLE - 1))
    if (fz_table[h].p == NULL || fz_table[h].p == (void *)1) {
      fz_table[h] = (FzAlloc){p, line, func, file};
      return;
    }
  /* full: stop tracking this one (never reached with the sizes moerate allocates per input) */
}

static int FzRemove(void *p)
{
  size_t h = FzHash(p);
  for (size_t i = 0; i < FZ_TABLE && fz_table[h].p; i++, h = (h + 1) & (FZ_TABLE - 1))
    if (fz_table[h].p == p) {
      fz_table[h].p = (void *)1;
      return 1;
    }
  return 0;
}

static PetscErrorCode FzMalloc(size_t n, PetscBool clear, int line, const char func[], const char file[], void **r)
{
  PetscErrorCode ierr = fz_malloc0(n, clear, line, func, file, r);
  if (!ierr && fz_tracking && *r && FzIsMoerate(file)) FzAdd(*r, line, func, file);
  return ierr;
}

static PetscErrorCode FzFree(void *p, int line, const char func[], const char file[])
{
  if (p && fz_tracking) FzRemove(p);
  return fz_free0(p, line, func, file);
}

static PetscErrorCode FzRealloc(size_t n, int line, const char func[], const char file[], void **r)
{
  void          *old     = *r;
  int            tracked = old && fz_tracking ? FzRemove(old) : 0;
  PetscErrorCode ierr    = fz_realloc0(n, line, func, file, r);
  if (fz_tracking && *r && (tracked || FzIsMoerate(file))) FzAdd(*r, line, func, file);
  else if (ierr && tracked) FzAdd(old, line, func, file);
  return ierr;
}

/* Allocation sites already reported, so each is printed once. */
static char fz_sites[256][160];
static int  fz_nsites = 0;

/* A finding (a leak) on stderr and, with MOE_FUZZ_REPORT=FILE, appended to FILE: libFuzzer's fork mode
   keeps a job's output only when it crashes, so run.sh collects the findings there. */
static void FzFinding(const char *fmt, ...)
{
  va_list ap;
  char    line[512];
  FILE   *f;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "fuzz: %s\n", line);
  if (getenv("MOE_FUZZ_REPORT") && (f = fopen(getenv("MOE_FUZZ_REPORT"), "a"))) {
    fprintf(f, "fuzz: %s\n", line);
    fclose(f);
  }
}

static void FzReportSite(const char *what, const char *file, int line, const char *func)
{
  char site[160];
  snprintf(site, sizeof(site), "%s:%d (%s)", file ? file : "?", line, func ? func : "?");
  for (int i = 0; i < fz_nsites; i++)
    if (!strcmp(fz_sites[i], site)) return;
  if (fz_nsites < 256) strcpy(fz_sites[fz_nsites++], site);
  FzFinding("%s reclaimed, allocated at %s", what, site);
}

/* ---------- options databases a moerate error path leaves behind ---------- */
PetscErrorCode __real_PetscOptionsCreate(PetscOptions *);
PetscErrorCode __real_PetscOptionsDestroy(PetscOptions *);
static PetscOptions fz_opts[256];
static int          fz_nopts = 0;

PetscErrorCode __wrap_PetscOptionsCreate(PetscOptions *o)
{
  PetscErrorCode ierr = __real_PetscOptionsCreate(o);
  if (!ierr && fz_tracking && fz_nopts < 256) fz_opts[fz_nopts++] = *o;
  return ierr;
}

PetscErrorCode __wrap_PetscOptionsDestroy(PetscOptions *o)
{
  if (o && *o)
    for (int i = 0; i < fz_nopts; i++)
      if (fz_opts[i] == *o) fz_opts[i] = fz_opts[--fz_nopts];
  return __real_PetscOptionsDestroy(o);
}

/* ---------- libyaml parsers PETSc leaves behind ----------
   PETSc 3.18's YAML reader (PetscOptionsInsertStringYAML, PetscOptionsInsertFileYAML) returns on a
   yaml_parser_load failure (a syntax error) without yaml_parser_delete: about 66 KB of libyaml buffers
   per bad YAML input, which would exhaust memory within minutes of fuzzing.  That leak is PETSc's, not
   moerate's (and harmless to moerate, which exits on the error), so the harness interposes
   yaml_parser_load (the executable's definition, exported with -rdynamic, wins over libyaml's for
   libpetsc's calls) and deletes the parser itself when a load fails.  yaml_parser_delete zeroes the
   parser, so a caller that does delete it afterwards frees nothing twice. */
#include <dlfcn.h>
#include <yaml.h>
int yaml_parser_load(yaml_parser_t *parser, yaml_document_t *document)
{
  static int (*load0)(yaml_parser_t *, yaml_document_t *);
  static void (*delete0)(yaml_parser_t *);
  int ok;
  if (!load0) {
    load0   = (int (*)(yaml_parser_t *, yaml_document_t *))dlsym(RTLD_NEXT, "yaml_parser_load");
    delete0 = (void (*)(yaml_parser_t *))dlsym(RTLD_NEXT, "yaml_parser_delete");
    if (!load0 || !delete0) abort();
  }
  ok = load0(parser, document);
  if (!ok) delete0(parser);
  return ok;
}

/* ---------- leak checks of HDF5 ids and descriptors ---------- */
static int FzCountFds(void)
{
  DIR *d = opendir("/proc/self/fd");
  int  n = 0;
  if (!d) return -1;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

static ssize_t fz_h5_files0, fz_fds0;
static int     fz_types0, fz_spaces0;
static int     fz_reported_h5 = 0, fz_reported_types = 0, fz_reported_fds = 0;

static int FzCountIds(H5I_type_t t)
{
  hsize_t n = 0;
  if (H5Inmembers(t, &n) < 0) return -1;
  return (int)n;
}

static void FzIterBegin(void)
{
  fz_in_input  = 1;
  fz_tracking  = 1;
  fz_nopts     = 0;
  fz_h5_files0 = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  fz_types0    = FzCountIds(H5I_DATATYPE);
  fz_spaces0   = FzCountIds(H5I_DATASPACE);
  fz_fds0      = FzCountFds();
}

/* Free what the input's error paths left allocated, and check HDF5 ids and descriptors. */
static void FzIterEnd(void)
{
  ssize_t nh5;
  int     nt, ns, nfd;

  fz_tracking = 0;
  for (size_t i = 0; i < FZ_TABLE; i++) {
    if (fz_table[i].p && fz_table[i].p != (void *)1) {
      FzReportSite("leak of a PetscMalloc", fz_table[i].file, fz_table[i].line, fz_table[i].func);
      fz_free0(fz_table[i].p, __LINE__, __func__, __FILE__);
      fz_reclaimed++;
    }
    fz_table[i].p = NULL;
  }
  for (int i = 0; i < fz_nopts; i++) {
    FzReportSite("leak of a PetscOptions database", "(PetscOptionsCreate called from moerate)", 0, "PetscOptionsCreate");
    __real_PetscOptionsDestroy(&fz_opts[i]);
    fz_reclaimed++;
  }
  fz_nopts = 0;
  nh5      = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (nh5 > fz_h5_files0) {
    hid_t ids[64];
    if (!fz_reported_h5++) FzFinding("HDF5 files/objects leaked: %zd open after the input, %zd before", nh5, fz_h5_files0);
    if (fz_strict) abort();
    ssize_t k = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, 64, ids);
    for (ssize_t i = 0; i < k; i++) MoeH5CloseFile(ids[i]);
  }
  nt = FzCountIds(H5I_DATATYPE);
  ns = FzCountIds(H5I_DATASPACE);
  if ((nt > fz_types0 || ns > fz_spaces0) && !fz_reported_types++) {
    FzFinding("HDF5 datatype/dataspace ids leaked: %d/%d after the input, %d/%d before", nt, ns, fz_types0, fz_spaces0);
    if (fz_strict) abort();
  }
  nfd = FzCountFds();
  if (nfd > fz_fds0 && !fz_reported_fds++) {
    FzFinding("file descriptors leaked: %d open after the input, %zd before", nfd, fz_fds0);
    if (fz_strict) abort();
  }
  fz_in_input = 0;
}

/* ---------- the temporary directory ---------- */
static void FzClearDir(void)
{
  DIR           *d = opendir(fz_dir);
  struct dirent *e;
  char           p[512];
  if (!d) return;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof(p), "%s/%s", fz_dir, e->d_name);
      unlink(p);
    }
  closedir(d);
}

static void FzAtExit(void)
{
  FzClearDir();
  rmdir(fz_dir);
  if (getenv("MOE_FUZZ_VERBOSE") || fz_reclaimed) fprintf(stderr, "fuzz: %zu leaked allocations reclaimed in all\n", fz_reclaimed);
}

static int FzWriteFile(const char *path, const void *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  if (n && fwrite(data, 1, n, f) != n) {
    fclose(f);
    return -1;
  }
  return fclose(f);
}

/* moerate prints warnings through PETSc (PetscFPrintf: a journal kept aside, a file written by another
   build) on stderr: silenced during an input unless MOE_FUZZ_VERBOSE is set, so that libFuzzer's output
   stays readable.  Only PETSc's printing is swapped (PetscVFPrintf), never file descriptor 2: the
   sanitizers' reports must reach the log. */
static PetscErrorCode (*fz_vfprintf0)(FILE *, const char[], va_list);
static int fz_silent = 0;
static PetscErrorCode FzVFPrintf(FILE *f, const char format[], va_list ap)
{
  if (fz_silent && (f == stderr || f == stdout)) return 0;
  return fz_vfprintf0(f, format, ap);
}

static void FzQuiet(int on)
{
  fz_silent = fz_quiet && on;
}

/* MOE_FUZZ_VERBOSE=1: what a reader said of the input (to check that seeds reach what they should) */
PETSC_EXTERN const char *MoeErrorText(PetscErrorCode);
static PetscErrorCode FzSays(const char *what, PetscErrorCode ierr)
{
  if (!fz_quiet) fprintf(stderr, "fuzz: %s: %s\n", what, ierr ? MoeErrorText(ierr) : "ok");
  return ierr;
}

static PetscErrorCode FzHelpPrintf(MPI_Comm comm, const char format[], ...)
{
  return 0;
}

static void FzInit(int *argc, char ***argv)
{
  int flag;

  (void)argc;
  (void)argv;
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  fz_strict = getenv("MOE_FUZZ_STRICT") && atoi(getenv("MOE_FUZZ_STRICT"));
  fz_quiet  = !(getenv("MOE_FUZZ_VERBOSE") && atoi(getenv("MOE_FUZZ_VERBOSE")));
  MPI_Initialized(&flag);
  if (!flag) MPI_Init(NULL, NULL);
  /* no command line for PETSc: libFuzzer's flags are not PETSc options */
  if (PetscInitializeNoArguments()) abort();
  PetscHelpPrintf = FzHelpPrintf;
  if (PetscPushErrorHandler(PetscReturnErrorHandler, NULL)) abort();
  if (MoeH5Initialize()) abort();
  if (MoeGatingRegisterAll() || MoeExpertRegisterAll() || MoeLossRegisterAll() || MoeEstimatorRegisterAll()) abort();
  fz_malloc0     = PetscTrMalloc;
  fz_free0       = PetscTrFree;
  fz_realloc0    = PetscTrRealloc;
  PetscTrMalloc  = FzMalloc;
  PetscTrFree    = FzFree;
  PetscTrRealloc = FzRealloc;
  snprintf(fz_dir, sizeof(fz_dir), "/tmp/moerate-fuzz-XXXXXX");
  if (!mkdtemp(fz_dir)) abort();
  atexit(FzAtExit);
  fz_vfprintf0  = PetscVFPrintf;
  PetscVFPrintf = FzVFPrintf;
}

/* ---------- reading a fuzz input ---------- */
typedef struct {
  const uint8_t *d;
  size_t         n, i;
} FzReader;

static uint8_t FzU8(FzReader *r)
{
  return r->i < r->n ? r->d[r->i++] : 0;
}

static uint64_t FzU64(FzReader *r)
{
  uint64_t v = 0;
  for (int k = 0; k < 8; k++) v |= (uint64_t)FzU8(r) << (8 * k);
  return v;
}

/* A length-prefixed byte string (its length byte, then that many bytes). */
static size_t FzBytes(FzReader *r, char *buf, size_t cap)
{
  size_t n = FzU8(r), k = 0;
  for (; k < n && r->i < r->n; k++)
    if (k < cap) buf[k] = (char)r->d[r->i++];
  return k < cap ? k : cap;
}

#endif
