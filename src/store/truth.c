/* Truth files, read: an HDF5 file written by moerate (its /truth groups, one per expert family)
   or a YAML file (gating, expert, kstar, d, theta and the gating family's options).  Read
   before the spec is made, which checks them against the experiment (moespec.h). */
#include <moestore.h>

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
  MoeUserCheck(found, "-truth_file %s: model '%s' is neither regression nor gaussian", path, type);
  r->model = (MoeModelType)t;
  PetscCall(PetscStrlcat(r->options, " -model ", sizeof(r->options)));
  PetscCall(PetscStrlcat(r->options, type, sizeof(r->options)));
  PetscCall(PetscStrlcat(r->options, " ", sizeof(r->options)));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadYAML(const char path[], MoeTruthFile *tf)
{
  PetscOptions    o;
  char            gating[MOE_NAME_LEN], expert[MOE_NAME_LEN], buf[MOE_NAME_LEN];
  PetscBool       set;
  PetscInt        n = 1 << 20;
  MoeTruthRecord *r = &tf->truths[0];
  const char    **famopts;

  PetscFunctionBegin;
  PetscCall(PetscOptionsCreate(&o));
  PetscCall(PetscOptionsInsertFileYAML(PETSC_COMM_SELF, o, path, PETSC_TRUE));
  PetscCall(PetscOptionsGetString(o, NULL, "-gating", gating, MOE_NAME_LEN, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'gating' entry", path);
  PetscCall(PetscOptionsGetString(o, NULL, "-expert", expert, MOE_NAME_LEN, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'expert' entry", path);
  PetscCall(PetscOptionsGetInt(o, NULL, "-kstar", &r->kstar, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'kstar' entry", path);
  PetscCall(PetscOptionsGetInt(o, NULL, "-d", &r->d, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'd' entry", path);
  PetscCall(ResolveFamilies(path, gating, expert, r));
  PetscCall(PetscMalloc1(n, &r->theta));
  PetscCall(PetscOptionsGetRealArray(o, NULL, "-theta", r->theta, &n, &set));
  MoeUserCheck(set, "-truth_file %s: the YAML truth has no 'theta' list", path);
  r->p = n;
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
  }
  PetscCall(PetscOptionsDestroy(&o));
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
  r->kstar = (PetscInt)v;
  PetscCall(MoeH5AttrReadInt(g, "d", &v));
  r->d = (PetscInt)v;
  PetscCall(MoeH5AttrReadString(g, "gating_options", r->options, sizeof(r->options)));
  PetscCall(MoeH5AttrExists(g, "model", &has));
  if (has) {
    char type[32];
    PetscCall(MoeH5AttrReadString(g, "model", type, sizeof(type)));
    PetscCall(SetModelType(path, type, r));
  }
  PetscCall(ReadTheta(g, name, r));
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
  char           msg[512] = "";

  PetscFunctionBegin;
  MoeUserCheck(ish5 > 0, "-truth_file %s is neither HDF5 nor YAML (.yaml/.yml)", path);
  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  MoeUserCheck(file >= 0, "-truth_file %s cannot be opened as HDF5 (corrupt or truncated?)", path);
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = ReadTruths(file, path, tf);
  PetscCall(PetscPopErrorHandler());
  if (ierr) {
    const char *text;
    char       *specific = NULL;
    PetscErrorMessage(ierr, &text, &specific);
    PetscCall(PetscStrncpy(msg, specific && specific[0] ? specific : text, sizeof(msg)));
  }
  MoeH5CloseFile(file);
  if (ierr == MOE_ERR_USER) MoeUserError("%s", msg);
  MoeUserCheck(!ierr, "-truth_file %s cannot be read as a moerate truth (damaged? %s): give a file written by moerate (fit -output or run), or a YAML truth", path, msg);
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
  PetscCall(PetscTestFile(path, 'r', &exists));
  MoeUserCheck(exists, "-truth_file %s does not exist or is not readable: give the path of an HDF5 or YAML truth", path);
  PetscCall(PetscNew(&tf));
  PetscCall(PetscStrncpy(tf->path, path, sizeof(tf->path)));
  if (IsYAML(path)) PetscCall(ReadYAML(path, tf));
  else PetscCall(ReadHDF5(path, tf));
  *truthfile = tf;
  PetscFunctionReturn(0);
}
