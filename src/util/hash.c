/* FNV-1a, 64 bits: the spec hash. */
#include <moerate.h>

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
