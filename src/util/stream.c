/* Seeds of the random streams, shared by the grid (which records each replicate's data seed)
   and the generate room (which draws from them):

   seed(s, stream, n, r, i) = M(M(M(M(M(s) ^ stream) ^ n) ^ r) ^ i), with M the SplitMix64
   finaliser (Steele, Lea, Flood 2014), all in unsigned 64-bit arithmetic. */
#include <moerate.h>

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

