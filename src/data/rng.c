/* The generators of the random streams (their seeds: src/util/stream.c).  The GSL mt19937
   generator takes 32 bits of seed: the upper and lower halves are XOR-ed. */
#include <moedata.h>

PetscErrorCode MoeRngCreate(PetscInt64 seed, MoeStream stream, PetscInt64 n, PetscInt64 replicate, PetscInt64 index, gsl_rng **rng)
{
  uint64_t h = MoeStreamSeed(seed, stream, n, replicate, index);

  PetscFunctionBegin;
  *rng = gsl_rng_alloc(gsl_rng_mt19937);
  PetscCheck(*rng, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate a GSL generator");
  gsl_rng_set(*rng, (unsigned long)((h >> 32) ^ (h & 0xffffffffULL)));
  PetscFunctionReturn(0);
}

