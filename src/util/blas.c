/* OpenBLAS chooses its kernels from the CPU model at load time.  Under some hypervisors it
   sees an unknown model and falls back to its Prescott (SSE3) kernels: measured here, dsyrk
   on the Gauss-Newton blocks runs 4x slower than with the AVX-512 kernels the CPU has.
   When that happens moerate re-executes itself once with OPENBLAS_CORETYPE set.  Setting
   OPENBLAS_CORETYPE yourself (to anything) turns this off. */
#define _GNU_SOURCE
#include <moerate.h>
#include <dlfcn.h>
#include <unistd.h>

static const char *BlasCoreName(void)
{
  const char *(*corename)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
  return corename ? corename() : NULL;
}

/* Called first in main(); returns only when nothing is to be done (or execv failed). */
void MoeBlasSelectKernels(char **argv)
{
  static const char *fallback[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", NULL};
  const char        *core       = BlasCoreName(), *want = NULL;
  int                i;

  if (!core || getenv("OPENBLAS_CORETYPE")) return;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) want = "SkylakeX";
  else if (__builtin_cpu_supports("avx2")) want = "Haswell";
  if (!want) return;
  for (i = 0; fallback[i]; i++)
    if (!strcmp(core, fallback[i])) break;
  if (!fallback[i]) return;
  setenv("OPENBLAS_CORETYPE", want, 1);
  execv("/proc/self/exe", argv);
}

/* "OpenBLAS SkylakeX", or "reference or other BLAS", for provenance. */
const char *MoeBlasDescription(void)
{
  static char buf[64];
  const char *core = BlasCoreName();
  snprintf(buf, sizeof(buf), core ? "OpenBLAS %s kernels" : "BLAS (not OpenBLAS)", core);
  return buf;
}
