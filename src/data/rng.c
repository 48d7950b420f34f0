/* Seeds of the random streams.

   seed(s, stream, n, r, i) = M(M(M(M(M(s) ^ stream) ^ n) ^ r) ^ i), with M the SplitMix64
   finaliser (Steele, Lea, Flood 2014), all in unsigned 64-bit arithmetic.  The GSL
   mt19937 generator takes 32 bits of seed: the upper and lower halves are XOR-ed. */
#include <moedata.h>

static inline uint64_t SplitMix64(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t MoeStreamSeed(PetscInt64 seed, MoeStream stream, PetscInt64 n, PetscInt64 replicate, PetscInt64 index)
{
  uint64_t h = SplitMix64((uint64_t)seed);
  h          = SplitMix64(h ^ (uint64_t)stream);
  h          = SplitMix64(h ^ (uint64_t)n);
  h          = SplitMix64(h ^ (uint64_t)replicate);
  return SplitMix64(h ^ (uint64_t)index);
}

PetscErrorCode MoeRngCreate(PetscInt64 seed, MoeStream stream, PetscInt64 n, PetscInt64 replicate, PetscInt64 index, gsl_rng **rng)
{
  uint64_t h = MoeStreamSeed(seed, stream, n, replicate, index);

  PetscFunctionBegin;
  *rng = gsl_rng_alloc(gsl_rng_mt19937);
  PetscCheck(*rng, PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate a GSL generator");
  gsl_rng_set(*rng, (unsigned long)((h >> 32) ^ (h & 0xffffffffULL)));
  PetscFunctionReturn(0);
}

/* FNV-1a, 64 bit: the spec hash. */
uint64_t MoeHash64(const void *buf, size_t len)
{
  const unsigned char *p = (const unsigned char *)buf;
  uint64_t             h = 0xcbf29ce484222325ULL;
  size_t               i;

  for (i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}
