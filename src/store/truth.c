/* Truth files, read: an HDF5 file written by moerate (its /truth groups, one per expert family)
   or a YAML file (gating, expert, kstar, d, theta and the gating family's options).  Read
   before the spec is made, which checks them against the experiment (moespec.h). */
#include <moestore.h>
#include <errno.h>
#include <sys/stat.h>

static PetscBool IsYAML(const char file[])
{
  size_t n = strlen(file);
  return (PetscBool)((n > 5 && !strcmp(file + n - 5, ".yaml")) || (n > 4 && !strcmp(file + n - 4, ".yml")));
}

static PetscErrorCode ResolveFamilies(const char path[], const char gating[], const char expert[], MoeTruthRecord *r)
{
  char known[256], opt[PETSC_MAX_PATH_LEN + 16];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(opt, sizeof(opt), "-truth_file %s", path));
  PetscCall(MoeGatingFamilyFind(gating, &r->gating));
  if (!r->gating) {
    PetscCall(MoeGatingTypesString(known, sizeof(known)));
    PetscCall(MoeUnknownName(opt, gating, "gating family", known));
  }
  PetscCall(MoeExpertFamilyFind(expert, &r->expert));
  if (!r->expert) {
    PetscCall(MoeExpertTypesString(known, sizeof(known)));
    PetscCall(MoeUnknownName(opt, expert, "expert family", known));
  }
  PetscFunctionReturn(0);
}

/* The model type of a truth ("regression" when the file does not say), also as the option its
   model is created with. */
static PetscErrorCode SetModelType(const char path[], const char type[], MoeTruthRecord *r)
{
  PetscBool found;
  PetscEnum t;

  PetscFunctionBegin;
  PetscCall(PetscEnumFind(MoeModelTypes, type, &t, &found));
  MoeUserCheck(found, "-truth_file %s: model '%s' is not regression, gaussian or contaminated", path, type);
  r->model = (MoeModelType)t;
  PetscCall(PetscStrlcat(r->options, " -model ", sizeof(r->options)));
  PetscCall(PetscStrlcat(r->options, type, sizeof(r->options)));
  PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
  PetscFunctionReturn(0);
}

#define MOE_MAX_TRUTH_KSTAR 4096 /* true atoms a truth file may declare */

/* The message of an error returned (not raised) while reading, as one line for the user. */
static PetscErrorCode ErrorAsLine(PetscErrorCode ierr, char msg[], size_t len)
{
  PetscFunctionBegin;
  PetscCall(PetscStrncpy(msg, MoeErrorText(ierr), len));
  for (char *c = msg; *c; c++)
    if (*c == '\n') *c = ' ';
  PetscFunctionReturn(0);
}

/* Is key one of the family options (without its dash)? */
static PetscBool IsFamilyOption(const char key[], size_t len)
{
  const char **famopts;

  if (MoeFamilyOptionNames(&famopts)) return PETSC_FALSE;
  for (const char **o = famopts; *o; o++)
    if (strlen(*o + 1) == len && !strncmp(*o + 1, key, len)) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* A value token: not an option name, or a number, or a comma list of numbers ("-1,0,0.5"). */
static PetscBool IsValueToken(const char tok[])
{
  char   item[64];
  size_t at = 0;

  if (tok[0] != '-') return PETSC_TRUE;
  while (tok[at]) {
    size_t l = strcspn(tok + at, ",");
    if (l == 0 || l >= sizeof(item)) return PETSC_FALSE;
    memcpy(item, tok + at, l);
    item[l] = 0;
    if (!MoeLooksNumeric(item)) return PETSC_FALSE;
    at += l + (tok[at + l] == ',');
  }
  return PETSC_TRUE;
}

/* A truth's family options ("-topk_K 2 -model gaussian"): pairs of a family option (or -model) and one
   value that is not itself an option, so that nothing else (an -options_file) reaches the options
   database they are inserted into. */
static PetscErrorCode CheckFamilyOptions(const char path[], const char text[])
{
  char  copy[sizeof(((MoeTruthRecord *)0)->options)], *save = NULL, *tok;
  PetscBool want_name = PETSC_TRUE;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(copy, text, sizeof(copy)));
  for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
    if (want_name) {
      PetscBool ok = (PetscBool)(tok[0] == '-' && (!strcmp(tok, "-model") || IsFamilyOption(tok + 1, strlen(tok + 1))));
      MoeUserCheck(ok, "-truth_file %s: its gating options hold '%s', not a gating family option: give options such as -topk_K 2", path, tok);
    } else MoeUserCheck(IsValueToken(tok), "-truth_file %s: the gating option before '%s' has no value", path, tok);
    want_name = (PetscBool)!want_name;
  }
  MoeUserCheck(want_name, "-truth_file %s: its last gating option has no value", path);
  PetscFunctionReturn(0);
}

/* One line of a YAML truth: a top-level key must be one moerate reads, given once (seen[] holds
   the earlier ones); other lines (comments, continued lists, blank) pass. */
static PetscErrorCode CheckYAMLKey(const char path[], char line[], char seen[][MOE_NAME_LEN], PetscInt *nseen)
{
  static const char *known[] = {"gating", "expert", "kstar", "d", "theta", "model", "drift", "drift_rate", NULL};
  size_t             len     = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
  const char        *rest    = line + len;
  PetscBool          ok      = PETSC_FALSE;

  PetscFunctionBegin;
  while (*rest == ' ') rest++;
  if (!len || *rest != ':') PetscFunctionReturn(0);
  MoeUserCheck(len < MOE_NAME_LEN, "-truth_file %s: the key '%.40s...' is too long", path, line);
  for (const char **k = known; *k; k++) ok = (PetscBool)(ok || (strlen(*k) == len && !strncmp(*k, line, len)));
  ok       = (PetscBool)(ok || IsFamilyOption(line, len));
  line[len] = 0;
  MoeUserCheck(ok, "-truth_file %s: unknown key '%s': a YAML truth has gating, expert, kstar, d, theta, model, drift, drift_rate and the gating families' and model types' options", path, line);
  for (PetscInt i = 0; i < *nseen; i++) MoeUserCheck(strcmp(seen[i], line), "-truth_file %s: the key '%s' is given twice: give it once", path, line);
  if (*nseen < 64) PetscCall(PetscStrncpy(seen[(*nseen)++], line, MOE_NAME_LEN));
  PetscFunctionReturn(0);
}

/* The top-level keys of a YAML truth: each at most once, and each one moerate reads (a typo such as `tehta`
   would otherwise be ignored, and a second `theta` would silently win).  The file is closed on every
   path (a refused key once leaked its descriptor: found by tests/fuzz/fuzz_truth_yaml). */
static PetscErrorCode CheckYAMLKeys(const char path[])
{
  char           line[4096], seen[64][MOE_NAME_LEN];
  PetscInt       nseen = 0;
  PetscErrorCode ierr  = 0;
  FILE          *f     = fopen(path, "r");

  PetscFunctionBegin;
  MoeUserCheck(f, "-truth_file %s cannot be read", path);
  while (!ierr && fgets(line, sizeof(line), f)) ierr = CheckYAMLKey(path, line, seen, &nseen);
  fclose(f);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* A size of a truth read as text, in 64 bits, inside 1..max (a 32-bit read would wrap 2^32 + 2 to 2). */
static PetscErrorCode ReadSize(PetscOptions o, const char path[], const char key[], PetscInt max, PetscInt *v)
{
  char      buf[64], *end;
  PetscBool set;
  long long x;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetString(o, NULL, key, buf, sizeof(buf), &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no '%s' entry", path, key + 1);
  errno = 0;
  x     = strtoll(buf, &end, 10);
  MoeUserCheck(!errno && end != buf && !*end && x >= 1 && x <= max, "-truth_file %s: %s %s is not a whole number in 1..%" PetscInt_FMT, path, key + 1, buf, max);
  *v = (PetscInt)x;
  PetscFunctionReturn(0);
}

/* A truth that moves with n: drift (as many values as theta) and drift_rate > 0, both or neither. */
static PetscErrorCode ReadYAMLDrift(const char path[], PetscOptions o, MoeTruthRecord *r)
{
  PetscBool set, rset;
  PetscInt  n = r->p + 1;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetReal(o, NULL, "-drift_rate", &r->drift_rate, &rset));
  PetscCall(PetscMalloc1(n, &r->drift));
  PetscCall(PetscOptionsGetRealArray(o, NULL, "-drift", r->drift, &n, &set));
  if (!set) PetscCall(PetscFree(r->drift));
  MoeUserCheck(set == rset, "-truth_file %s: a truth that moves with n needs both 'drift' (a list like theta) and 'drift_rate' (theta*(n) = theta + n^-drift_rate drift)", path);
  MoeUserCheck(!set || n == r->p, "-truth_file %s: drift has %" PetscInt_FMT " values but theta has %" PetscInt_FMT ": give one per entry of theta", path, n, r->p);
  PetscFunctionReturn(0);
}

/* The contents of a YAML truth (its keys checked first); PETSc errors (syntax, a number that is not one)
   become one line. */
static PetscErrorCode ReadYAMLEntries(const char path[], PetscOptions o, MoeTruthRecord *r, char gating[], char expert[])
{
  PetscBool set;
  PetscInt  n = 1 << 20;

  PetscFunctionBegin;
  PetscCall(PetscOptionsInsertFileYAML(PETSC_COMM_SELF, o, path, PETSC_TRUE));
  PetscCall(PetscOptionsGetString(o, NULL, "-gating", gating, MOE_NAME_LEN, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'gating' entry", path);
  PetscCall(PetscOptionsGetString(o, NULL, "-expert", expert, MOE_NAME_LEN, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'expert' entry", path);
  PetscCall(ReadSize(o, path, "-kstar", MOE_MAX_TRUTH_KSTAR, &r->kstar));
  PetscCall(ReadSize(o, path, "-d", MOE_MAX_TRUTH_D, &r->d));
  PetscCall(PetscMalloc1(n, &r->theta));
  PetscCall(PetscOptionsGetRealArray(o, NULL, "-theta", r->theta, &n, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'theta' list", path);
  r->p = n;
  PetscCall(ReadYAMLDrift(path, o, r));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadYAML(const char path[], MoeTruthFile *tf)
{
  PetscOptions    o;
  char            gating[MOE_NAME_LEN], expert[MOE_NAME_LEN], buf[MOE_TRUTH_OPTIONS_LEN], msg[MOE_MESSAGE_LEN] = "";
  PetscBool       set;
  MoeTruthRecord *r = &tf->truths[0];
  const char    **famopts;
  PetscErrorCode  ierr;

  PetscFunctionBegin;
  PetscCall(CheckYAMLKeys(path));
  PetscCall(PetscOptionsCreate(&o));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ReadYAMLEntries(path, o, r, gating, expert);
  PetscCall(PetscPopErrorHandler());
  if (ierr) {
    PetscCall(PetscOptionsDestroy(&o));
    PetscCall(ErrorAsLine(ierr, msg, sizeof(msg)));
    if (ierr == MOE_ERR_USER) MoeUserError("%s", msg);
    MoeUserError("-truth_file %s is not a YAML truth moerate can read (%s): see jobs/specs/truths/ for the form", path, msg);
  }
  PetscCall(ResolveFamilies(path, gating, expert, r));
  PetscCall(PetscOptionsGetString(o, NULL, "-model", buf, sizeof(buf), &set));
  if (set) PetscCall(SetModelType(path, buf, r));
  PetscCall(MoeFamilyOptionNames(&famopts));
  for (const char **opt = famopts; *opt; opt++) {
    PetscCall(PetscOptionsGetString(o, NULL, *opt, buf, sizeof(buf), &set));
    if (!set) continue;
    PetscCall(PetscStrlcat(r->options, *opt, sizeof(r->options)));
    PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
    PetscCall(PetscStrlcat(r->options, buf, sizeof(r->options)));
    PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
    MoeUserCheck(strlen(buf) + 1 < sizeof(buf) && strlen(r->options) + 1 < sizeof(r->options), "-truth_file %s: its options are longer than %zu characters: shorten the lists (at most d = %d values each)", path, sizeof(r->options) - 1, MOE_MAX_TRUTH_D);
  }
  PetscCall(PetscOptionsDestroy(&o));
  PetscCall(CheckFamilyOptions(path, r->options));
  tf->n = 1;
  PetscFunctionReturn(0);
}

#define MOE_MAX_TRUTH_P (1 << 20) /* values of a truth's theta, as a YAML truth's list */

/* /truth/<name>/theta: a list of at most MOE_MAX_TRUTH_P values, checked before it is
   allocated (MoeTruthCreate then compares its length with the truth model's). */
static PetscErrorCode ReadTheta(hid_t g, const char name[], MoeTruthRecord *r)
{
  hsize_t dims[MOE_H5_MAX_RANK];
  int     rank;

  PetscFunctionBegin;
  PetscCall(MoeH5DatasetShape(g, "theta", &rank, dims));
  PetscCheck(rank == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/truth/%s/theta has %d dimensions, not 1", name, rank);
  PetscCheck(dims[0] >= 1 && dims[0] <= MOE_MAX_TRUTH_P, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/truth/%s/theta claims %llu values (a truth has 1..%d)", name, (unsigned long long)dims[0], MOE_MAX_TRUTH_P);
  PetscCall(PetscMalloc1((size_t)dims[0], &r->theta));
  PetscCall(MoeH5ReadReals(g, "theta", 1, dims, r->theta));
  r->p = (PetscInt)dims[0];
  PetscFunctionReturn(0);
}

/* A truth that moves with n: /truth/NAME/drift (as long as theta) and its drift_rate attribute. */
static PetscErrorCode ReadDrift(hid_t g, const char name[], MoeTruthRecord *r)
{
  hsize_t   dims[MOE_H5_MAX_RANK];
  int       rank;
  PetscBool has;

  PetscFunctionBegin;
  PetscCall(MoeH5LinkExists(g, "drift", &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(MoeH5DatasetShape(g, "drift", &rank, dims));
  PetscCheck(rank == 1 && dims[0] == (hsize_t)r->p, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "/truth/%s/drift does not have theta's %" PetscInt_FMT " values", name, r->p);
  PetscCall(PetscMalloc1(r->p, &r->drift));
  PetscCall(MoeH5ReadReals(g, "drift", 1, dims, r->drift));
  PetscCall(MoeH5AttrReadReal(g, "drift_rate", &r->drift_rate));
  PetscFunctionReturn(0);
}

/* One /truth group (the caller closes what an error leaves open: MoeH5CloseFile). */
static PetscErrorCode ReadGroup(hid_t top, const char path[], const char name[], MoeTruthRecord *r)
{
  PetscBool  has;
  hid_t      g;
  char       gating[MOE_NAME_LEN], expert[MOE_NAME_LEN];
  PetscInt64 v;

  PetscFunctionBegin;
  g = H5Gopen2(top, name, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /truth/%s of %s", name, path);
  PetscCall(MoeH5AttrReadString(g, "gating", gating, MOE_NAME_LEN));
  PetscCall(MoeH5AttrReadString(g, "expert", expert, MOE_NAME_LEN));
  PetscCall(ResolveFamilies(path, gating, expert, r));
  PetscCall(MoeH5AttrReadInt(g, "kstar", &v));
  MoeUserCheck(v >= 1 && v <= MOE_MAX_TRUTH_KSTAR, "-truth_file %s: /truth/%s has kstar %lld, not in 1..%d", path, name, (long long)v, MOE_MAX_TRUTH_KSTAR);
  r->kstar = (PetscInt)v;
  PetscCall(MoeH5AttrReadInt(g, "d", &v));
  MoeUserCheck(v >= 1 && v <= MOE_MAX_TRUTH_D, "-truth_file %s: /truth/%s has d %lld, not in 1..%d", path, name, (long long)v, MOE_MAX_TRUTH_D);
  r->d = (PetscInt)v;
  PetscCall(MoeH5AttrReadString(g, "gating_options", r->options, sizeof(r->options)));
  PetscCall(MoeH5AttrExists(g, "model_options", &has));
  if (has) { /* the contaminated MoE's base */
    char mopts[sizeof(r->options)];
    PetscCall(MoeH5AttrReadString(g, "model_options", mopts, sizeof(mopts)));
    PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
    PetscCall(PetscStrlcat(r->options, mopts, sizeof(r->options)));
  }
  PetscCall(CheckFamilyOptions(path, r->options));
  PetscCall(MoeH5AttrExists(g, "model", &has));
  if (has) {
    char type[32];
    PetscCall(MoeH5AttrReadString(g, "model", type, sizeof(type)));
    PetscCall(SetModelType(path, type, r));
  }
  PetscCall(ReadTheta(g, name, r));
  PetscCall(ReadDrift(g, name, r));
  MoeH5Call(H5Gclose(g));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadTruths(hid_t file, const char path[], MoeTruthFile *tf)
{
  hid_t      top;
  H5G_info_t info;
  PetscBool  exists;

  PetscFunctionBegin;
  PetscCall(MoeH5LinkExists(file, "/truth", &exists));
  MoeUserCheck(exists, "-truth_file %s has no /truth group: give a file written by moerate (fit -output or run), or a YAML truth", path);
  top = H5Gopen2(file, "/truth", H5P_DEFAULT);
  PetscCheck(top >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot open /truth");
  MoeH5Call(H5Gget_info(top, &info));
  MoeUserCheck(info.nlinks > 0, "-truth_file %s: /truth is empty", path);
  MoeUserCheck(info.nlinks <= MOE_MAX_LIST, "-truth_file %s: /truth holds more than %d truths", path, MOE_MAX_LIST);
  for (hsize_t i = 0; i < info.nlinks; i++) {
    char    name[256];
    ssize_t n = H5Lget_name_by_idx(top, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof(name), H5P_DEFAULT);
    PetscCheck(n > 0 && n < (ssize_t)sizeof(name), PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read the names in /truth");
    PetscCall(ReadGroup(top, path, name, &tf->truths[tf->n++]));
  }
  MoeH5Call(H5Gclose(top));
  PetscFunctionReturn(0);
}

/* A truth file that is not what moerate writes (damaged, or edited: an attribute holding an
   array, a theta of absurd length) is refused in one line and left as it is. */
static PetscErrorCode ReadHDF5(const char path[], MoeTruthFile *tf)
{
  hid_t          file;
  htri_t         ish5 = H5Fis_hdf5(path);
  PetscErrorCode ierr;
  char           msg[MOE_MESSAGE_LEN] = "";

  PetscFunctionBegin;
  MoeUserCheck(ish5 > 0, "-truth_file %s is neither HDF5 nor YAML (.yaml/.yml)", path);
  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  MoeUserCheck(file >= 0, "-truth_file %s cannot be opened as HDF5 (corrupt or truncated?)", path);
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = MoeH5RefuseForeignLinks(file, "-truth_file", path, "give a truth file written by moerate, or a YAML truth");
  if (!ierr) ierr = ReadTruths(file, path, tf);
  PetscCall(PetscPopErrorHandler());
  if (ierr) PetscCall(ErrorAsLine(ierr, msg, sizeof(msg)));
  MoeH5CloseFile(file);
  if (ierr == MOE_ERR_USER) MoeUserError("%s", msg);
  MoeUserCheck(!ierr, "-truth_file %s cannot be read as a moerate truth (damaged? %s): give a file written by moerate (fit -output or run), or a YAML truth", path, msg);
  PetscFunctionReturn(0);
}

/* Does the options file that argument i names set -truth_file? */
static PetscErrorCode OptionsFileSetsTruth(char **argv, int i, PetscBool *sets)
{
  PetscOptions o;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&o));
  if (!strcmp(argv[i], "-options_file_yaml")) PetscCall(PetscOptionsInsertFileYAML(PETSC_COMM_SELF, o, argv[i + 1], PETSC_FALSE));
  else PetscCall(PetscOptionsInsertFile(PETSC_COMM_SELF, o, argv[i + 1], PETSC_FALSE));
  PetscCall(PetscOptionsHasName(o, NULL, "-truth_file", sets));
  PetscCall(PetscOptionsDestroy(&o));
  PetscFunctionReturn(0);
}

/* A relative -truth_file written in a spec file (-options_file_yaml, -options_file) names a
   file beside the spec, wherever the run starts from (jobs/specs/X.yaml says truths/Y.yaml);
   given on the command line it is relative to the current directory.  As PETSc does, the last
   of the command line's arguments that sets it wins. */
static PetscErrorCode ResolveAgainstSpecFile(char path[], size_t len)
{
  int         argc;
  char      **argv;
  const char *spec = NULL;

  PetscFunctionBegin;
  if (path[0] == '/') PetscFunctionReturn(0);
  PetscCall(PetscGetArgs(&argc, &argv));
  for (int i = 1; i < argc; i++) {
    PetscBool sets = PETSC_FALSE;
    if (!strcmp(argv[i], "-truth_file")) spec = NULL;
    else if (i + 1 < argc && (!strcmp(argv[i], "-options_file_yaml") || !strcmp(argv[i], "-options_file"))) {
      PetscCall(OptionsFileSetsTruth(argv, i, &sets));
      if (sets) spec = argv[i + 1];
    }
  }
  if (spec && strchr(spec, '/')) {
    char dir[PETSC_MAX_PATH_LEN], joined[2 * PETSC_MAX_PATH_LEN + 2];
    PetscCall(PetscStrncpy(dir, spec, sizeof(dir)));
    *strrchr(dir, '/') = 0;
    PetscCall(PetscSNPrintf(joined, sizeof(joined), "%s/%s", dir[0] ? dir : "/", path));
    MoeUserCheck(strlen(joined) < len, "-truth_file %s in %s: the path beside the spec file is too long", path, spec);
    PetscCall(PetscStrncpy(path, joined, len));
  }
  PetscFunctionReturn(0);
}

/* The truth file named by -truth_file, or NULL when none is given. */
PetscErrorCode MoeStoreReadTruthFile(MPI_Comm comm, MoeTruthFile **truthfile)
{
  char          path[PETSC_MAX_PATH_LEN] = "";
  PetscBool     set, exists;
  MoeTruthFile *tf;

  PetscFunctionBegin;
  *truthfile = NULL;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-truth_file", path, sizeof(path), &set));
  if (!set || !path[0]) PetscFunctionReturn(0);
  PetscCall(ResolveAgainstSpecFile(path, sizeof(path)));
  {
    struct stat st; /* a FIFO there would block the run where no signal reaches it */
    MoeUserCheck(stat(path, &st) || S_ISREG(st.st_mode), "-truth_file %s is not a regular file (a FIFO, socket, device or directory): give the path of an HDF5 or YAML truth", path);
  }
  PetscCall(PetscTestFile(path, 'r', &exists));
  MoeUserCheck(exists, "-truth_file %s does not exist or is not readable: give the path of an HDF5 or YAML truth%s", path, path[0] == '/' ? "" : " (a relative path in a spec file is relative to the spec file's folder, on the command line to the current directory)");
  PetscCall(PetscNew(&tf));
  PetscCall(PetscStrncpy(tf->path, path, sizeof(tf->path)));
  if (IsYAML(path)) PetscCall(ReadYAML(path, tf));
  else PetscCall(ReadHDF5(path, tf));
  *truthfile = tf;
  PetscFunctionReturn(0);
}
