/* The floor of a Gauss-Newton step: forming J^T J for an n x p Jacobian costs n p^2 flops
   (dsyrk; the upper triangle, counted as multiply + add).  Times dsyrk on random data the way
   moerate's FormHessian calls it (src/fit/fit.c: J stored row-major in blocks of B rows, i.e.
   a column-major p x B matrix A, C += A A^T), as one call over all n rows and in row blocks,
   and prints the rates.

     floor [-n 100000] [-p 594] [-block 256] [-repeat 3] [-json]

   Link with -lblas: at run time that is whatever libblas.so.3 points at (OpenBLAS here); the
   kernels OpenBLAS chose are printed (set OPENBLAS_CORETYPE as for moerate; see bench/run_all). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ssyrk_(const char *uplo, const char *trans, const int *n, const int *k, const float *alpha, const float *a, const int *lda, const float *beta, float *c, const int *ldc);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha, const double *a, const int *lda, const double *beta, double *c, const int *ldc);

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* C = A A^T over rows [0, n) of A (p x n column-major, i.e. J row-major), in blocks of B rows. */
static void syrk_blocks(int p, long n, int B, const double *A, double *C)
{
  const double one = 1.0, zero = 0.0;
  for (long r0 = 0; r0 < n; r0 += B) {
    int nb = (int)(n - r0 < B ? n - r0 : B);
    dsyrk_("U", "N", &p, &nb, &one, A + (size_t)r0 * p, &p, r0 ? &one : &zero, C, &p);
  }
}

int main(int argc, char **argv)
{
  long        n = 100000;
  int         p = 594, B = 256, repeat = 3, json = 0;
  const char *(*corename)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");

  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-n") && i + 1 < argc) n = atol(argv[++i]);
    else if (!strcmp(argv[i], "-p") && i + 1 < argc) p = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-block") && i + 1 < argc) B = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-json")) json = 1;
    else {
      fprintf(stderr, "usage: %s [-n N] [-p P] [-block B] [-repeat R] [-json]\n", argv[0]);
      return 2;
    }
  }
  if (n < 1 || p < 1 || B < 1 || repeat < 1 || n > 2147483647L) {
    fprintf(stderr, "floor: bad sizes\n");
    return 2;
  }
  double *A = malloc(sizeof(double) * (size_t)n * p), *C = malloc(sizeof(double) * (size_t)p * p);
  if (!A || !C) {
    fprintf(stderr, "floor: cannot allocate %.0f MB\n", 8e-6 * (double)n * p);
    return 1;
  }
  srand(1);
  for (size_t i = 0; i < (size_t)n * p; i++) A[i] = rand() / (double)RAND_MAX - 0.5;
  const double flops = (double)n * p * p; /* p(p+1)/2 entries x n x 2 */
  double       best_one = 1e300, best_blk = 1e300;
  int          nn = (int)n;
  for (int r = 0; r < repeat; r++) {
    const double one = 1.0, zero = 0.0;
    double       t0 = now();
    dsyrk_("U", "N", &p, &nn, &one, A, &p, &zero, C, &p);
    double t1 = now();
    syrk_blocks(p, n, B, A, C);
    double t2 = now();
    if (t1 - t0 < best_one) best_one = t1 - t0;
    if (t2 - t1 < best_blk) best_blk = t2 - t1;
  }
  /* the floor of -fit_hessian_single: ssyrk, one call, on the same entries rounded to float */
  double best_single = 1e300;
  float *Af = malloc(sizeof(float) * (size_t)n * p), *Cf = malloc(sizeof(float) * (size_t)p * p);
  if (!Af || !Cf) {
    fprintf(stderr, "floor: cannot allocate %.0f MB\n", 4e-6 * (double)n * p);
    return 1;
  }
  for (size_t i = 0; i < (size_t)n * p; i++) Af[i] = (float)A[i];
  for (int r = 0; r < repeat; r++) {
    const float one = 1.0f, zero = 0.0f;
    double      t0 = now();
    ssyrk_("U", "N", &p, &nn, &one, Af, &p, &zero, Cf, &p);
    double t = now() - t0;
    if (t < best_single) best_single = t;
  }
  free(Af);
  free(Cf);
  const char *core = corename ? corename() : "not OpenBLAS";
  if (json)
    printf("{\"n\": %ld, \"p\": %d, \"block\": %d, \"flops\": %.6e, \"one_call_s\": %.6f, \"blocks_s\": %.6f, \"one_call_gflops\": %.3f, \"blocks_gflops\": %.3f, \"single_s\": %.6f, \"single_gflops\": %.3f, \"blas\": \"%s\"}\n", n, p, B, flops, best_one, best_blk, 1e-9 * flops / best_one, 1e-9 * flops / best_blk, best_single, 1e-9 * flops / best_single, core);
  else {
    printf("dsyrk n=%ld p=%d (n p^2 = %.3g flops), OpenBLAS kernels: %s, best of %d\n", n, p, flops, core, repeat);
    printf("  one call          : %.4f s  %.1f GFLOP/s\n", best_one, 1e-9 * flops / best_one);
    printf("  blocks of %4d rows: %.4f s  %.1f GFLOP/s\n", B, best_blk, 1e-9 * flops / best_blk);
    printf("  ssyrk, one call   : %.4f s  %.1f GFLOP/s (single precision)\n", best_single, 1e-9 * flops / best_single);
  }
  free(A);
  free(C);
  return 0;
}
