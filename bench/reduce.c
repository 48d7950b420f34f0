/* bench/reduce: the cost of a group's sum of chunk partials on this machine (figure 9's model).

     mpiexec -n 2 reduce -p 594 -repeat 20 [-json]

   A grouped fit (src/data/group.c) sums a Gauss-Newton Hessian over chunks of rows: the group's other
   ranks send their sums of aligned blocks of chunks to its first rank, which adds them, then broadcasts
   the sum.  Each is the Hessian's packed upper triangle, p(p + 1)/2 doubles, so bench/groups.py passes
   -p 420 for p = 594 (420^2 doubles as many).  Measured here, each as the median of -repeat trials:
     send   one p^2 message from rank 1 to rank 0 (MPI_Send / MPI_Recv), seconds;
     add    one chunk added into the running sum on rank 0 (p^2 additions), seconds;
     bcast  the broadcast of the sum over the 2 ranks, seconds.
   With -json one JSON line on rank 0. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
  qsort(t, (size_t)n, sizeof(double), cmp);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

int main(int argc, char **argv)
{
  int     p = 594, repeat = 20, json = 0, rank, size, r;
  size_t  count;
  double *a, *b, *ts, *ta, *tb;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-p") && i + 1 < argc) p = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-json")) json = 1;
  }
  if (size != 2) {
    if (!rank) fprintf(stderr, "reduce: run it on 2 ranks (mpiexec -n 2)\n");
    MPI_Finalize();
    return 2;
  }
  count = (size_t)p * p;
  a     = malloc(count * sizeof(double));
  b     = malloc(count * sizeof(double));
  ts    = malloc(repeat * sizeof(double));
  ta    = malloc(repeat * sizeof(double));
  tb    = malloc(repeat * sizeof(double));
  for (size_t j = 0; j < count; j++) a[j] = b[j] = 1.0 / (1.0 + j);
  for (r = 0; r < repeat; r++) {
    double t0;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    if (rank == 1) MPI_Send(b, (int)count, MPI_DOUBLE, 0, r, MPI_COMM_WORLD);
    else MPI_Recv(b, (int)count, MPI_DOUBLE, 1, r, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    ts[r] = MPI_Wtime() - t0;
    t0    = MPI_Wtime();
    for (size_t j = 0; j < count; j++) a[j] += b[j];
    ta[r] = MPI_Wtime() - t0;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    MPI_Bcast(a, (int)count, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    tb[r] = MPI_Wtime() - t0;
  }
  if (!rank) {
    double s = median(ts, repeat), ad = median(ta, repeat), bc = median(tb, repeat);
    if (json) printf("{\"p\": %d, \"bytes\": %zu, \"send_s\": %.6e, \"add_s\": %.6e, \"bcast_s\": %.6e, \"repeat\": %d, \"check\": %g}\n", p, count * sizeof(double), s, ad, bc, repeat, a[count - 1]);
    else printf("p = %d (%zu bytes): send %.3f ms (%.2f GB/s), add %.3f ms, bcast %.3f ms\n", p, count * sizeof(double), 1e3 * s, count * sizeof(double) / s / 1e9, 1e3 * ad, 1e3 * bc);
  }
  free(a);
  free(b);
  free(ts);
  free(ta);
  free(tb);
  MPI_Finalize();
  return 0;
}
