/* moerate: empirical convergence rates of mixture-of-experts estimators.
     moerate fit [options]   one replicate: generate, fit, losses (one rank)
     moerate run [options]   a whole experiment grid over MPI ranks into one HDF5 file */
#include <errno.h>
#include <moerate.h>
#include <moecmd.h>
#include <stdarg.h>
#include <moestore.h>
#include <moerun.h>
#include <yaml.h>

static const char help[] = "moerate " MOERATE_VERSION ": empirical convergence rates of mixture-of-experts estimators.\n"
                           "Usage: moerate fit [options]   one replicate (see -help for every option)\n"
                           "       moerate run [options]   an experiment grid over MPI ranks, e.g.\n"
                           "       mpirun -n 4 moerate run -options_file_yaml jobs/specs/p1_fig1_quick.yaml\n\n";

/* The top-level keys of a YAML spec: none (an empty spec would run the default grid) and
   duplicates (the last would silently win) are input errors.  0 when the spec is usable. */
static int CheckYAMLKeys(const char path[], yaml_parser_t *parser)
{
  yaml_event_t event;
  int          depth = 0, expect_key = 0, nkeys = 0, done = 0, ok = 1, status = MOE_EXIT_OK, i;
  char       **keys = NULL;

  while (!done && (ok = yaml_parser_parse(parser, &event))) {
    done = event.type == YAML_STREAM_END_EVENT;
    if (event.type == YAML_MAPPING_START_EVENT || event.type == YAML_SEQUENCE_START_EVENT) {
      if (depth == 1) expect_key = !expect_key; /* a list (or mapping) as a value */
      depth++;
      if (depth == 1) expect_key = 1;
    } else if (event.type == YAML_MAPPING_END_EVENT || event.type == YAML_SEQUENCE_END_EVENT) depth--;
    else if (event.type == YAML_SCALAR_EVENT && depth == 1) {
      if (expect_key) {
        const char *key = (const char *)event.data.scalar.value;
        for (i = 0; i < nkeys && status == MOE_EXIT_OK; i++)
          if (!strcmp(keys[i], key)) {
            fprintf(stderr, "moerate: error: -options_file_yaml %s: the key '%s' is given twice (line %lu): give each setting once\n", path, key, (unsigned long)event.start_mark.line + 1);
            status = MOE_EXIT_USAGE;
          }
        keys          = realloc(keys, sizeof(char *) * (nkeys + 1));
        keys[nkeys++] = strdup(key);
      }
      expect_key = !expect_key;
    }
    yaml_event_delete(&event);
  }
  if (!ok) {
    fprintf(stderr, "moerate: error: -options_file_yaml %s: YAML syntax error at line %lu, column %lu: %s; fix the spec file\n", path, (unsigned long)parser->problem_mark.line + 1, (unsigned long)parser->problem_mark.column + 1, parser->problem ? parser->problem : "unknown problem");
    status = MOE_EXIT_USAGE;
  } else if (status == MOE_EXIT_OK && nkeys == 0) {
    fprintf(stderr, "moerate: error: -options_file_yaml %s has no settings: an empty spec would run the default grid; give the experiment's settings (see jobs/specs/)\n", path);
    status = MOE_EXIT_USAGE;
  }
  for (i = 0; i < nkeys; i++) free(keys[i]);
  free(keys);
  return status;
}

/* A word that is neither an option nor the value of the option before it: "-gating sigmoid
   softmax" would fit sigmoid only.  A value may start with '-' when it is a number. */
static int CheckStrayWords(int argc, char **argv)
{
  int i, after_name = 0;

  for (i = 2; i < argc; i++) {
    char *end;
    int   number = (strtod(argv[i], &end), end != argv[i] && *end == 0);
    if (argv[i][0] == '-' && !number) {
      after_name = 1;
      continue;
    }
    if (!after_name) {
      fprintf(stderr, "moerate: error: stray word '%s' after %s %s: give a list as one comma-separated value (e.g. %s %s,%s)\n", argv[i], argv[i - 2], argv[i - 1], argv[i - 2], argv[i - 1], argv[i]);
      return MOE_EXIT_USAGE;
    }
    after_name = 0;
  }
  return MOE_EXIT_OK;
}

/* PETSc reads -options_file and -options_file_yaml inside PetscInitialize, where a missing
   file or a YAML syntax error ends in a traceback.  Check them first, and report one line. */
static int CheckOptionFiles(int argc, char **argv)
{
  int i;

  for (i = 1; i + 1 < argc; i++) {
    int   yamlfile = !strcmp(argv[i], "-options_file_yaml"), plain = !strcmp(argv[i], "-options_file");
    FILE *fp;
    if (!yamlfile && !plain) continue;
    fp = fopen(argv[i + 1], "rb");
    if (!fp) {
      fprintf(stderr, "moerate: error: %s %s: cannot open the spec file (%s); check the path\n", argv[i], argv[i + 1], strerror(errno));
      return MOE_EXIT_USAGE;
    }
    if (yamlfile) {
      yaml_parser_t parser;
      int           status;
      yaml_parser_initialize(&parser);
      yaml_parser_set_input_file(&parser, fp);
      status = CheckYAMLKeys(argv[i + 1], &parser);
      yaml_parser_delete(&parser);
      if (status != MOE_EXIT_OK) {
        fclose(fp);
        return status;
      }
    }
    fclose(fp);
  }
  return MOE_EXIT_OK;
}

/* -help: PETSc prints its generic options while it initialises, before any moerate option.
   They are held here and printed after moerate's own options, which come first, grouped by room. */
static char  *generic_help     = NULL;
static size_t generic_help_len = 0;

static PetscErrorCode HoldGenericHelp(MPI_Comm comm, const char format[], ...)
{
  va_list     ap;
  char        line[8192];
  int     n, rank = 0, init = 0;

  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(comm, &rank);
  if (rank) return 0;
  va_start(ap, format);
  n = vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  if (n < 0) return 0;
  if ((size_t)n >= sizeof(line)) n = (int)sizeof(line) - 1;
  char *grown = (char *)realloc(generic_help, generic_help_len + (size_t)n + 1);
  if (!grown) return 0;
  generic_help = grown;
  memcpy(generic_help + generic_help_len, line, (size_t)n + 1);
  generic_help_len += (size_t)n;
  return 0;
}

static PetscErrorCode PrintGenericHelp(void)
{
  PetscFunctionBegin;
  if (generic_help) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\n---------- PETSc's generic options ----------\n%s", generic_help));
    free(generic_help);
    generic_help = NULL;
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  int            status = MOE_EXIT_OK, i;
  const char    *cmd    = argc > 1 ? argv[1] : "";
  char           command[4096] = "moerate";
  PetscBool      isfit = (PetscBool)!strcmp(cmd, "fit"), isrun = (PetscBool)!strcmp(cmd, "run");

  if (isrun) MoeDeferStopSignals(); /* from the very start, across the re-execution below */
  MoeBlasSelectKernels(argv);
  if (!isfit && !isrun) {
    fprintf(stderr, "%s", help);
    return (!strcmp(cmd, "-help") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) ? MOE_EXIT_OK : MOE_EXIT_USAGE;
  }
  for (i = 1; i < argc; i++) { /* the command line, for provenance */
    strncat(command, " ", sizeof(command) - strlen(command) - 1);
    strncat(command, argv[i], sizeof(command) - strlen(command) - 1);
  }
  if ((status = CheckStrayWords(argc, argv)) != MOE_EXIT_OK) return status;
  if ((status = CheckOptionFiles(argc, argv)) != MOE_EXIT_OK) return status;
  argv[1] = argv[0]; /* PETSc sees the options only */
  argc--;
  argv++;
  for (i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-help") || !strcmp(argv[i], "-h")) PetscHelpPrintf = HoldGenericHelp;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  if (PetscHelpPrintf == HoldGenericHelp) {
    PetscHelpPrintf = PetscHelpPrintfDefault;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s\n---------- moerate's options, by room ----------\n", help));
  }
  if (isrun) PetscCall(MoeInstallStopHandlers()); /* over PETSc's; a stop request held since the start is delivered now */
  PetscCall(MoePushErrorHandler());
  PetscCall(MoeH5Initialize());
  ierr = isfit ? MoeCommandFit(PETSC_COMM_WORLD, command) : MoeCommandRun(PETSC_COMM_WORLD, command);
  if (ierr) {
    PetscCall(MoeErrorReport(PETSC_COMM_WORLD, ierr, &status));
    if (status == MOE_EXIT_FAILURE) { /* an internal error on some rank: end the whole job */
      PetscMPIInt size;
      MPI_Comm_size(PETSC_COMM_WORLD, &size);
      if (size > 1) MPI_Abort(PETSC_COMM_WORLD, MOE_EXIT_FAILURE);
    }
  }
  if (!ierr) status = MoeExitStatus();
  if (isrun) PetscCall(MoeKeepStopHandlersPastFinalize()); /* a late stop request ends no rank with 143 */
  PetscCall(PrintGenericHelp());
  PetscCall(PetscFinalize());
  return status;
}
