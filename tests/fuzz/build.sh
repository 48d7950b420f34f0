#!/bin/bash
# Build moerate's libFuzzer harnesses (tests/fuzz/README.md).
#   bash tests/fuzz/build.sh [--install-deps] [OUT]     (OUT defaults to build-fuzz/ in the repository)
# Configures moerate's own CMake project in OUT/lib with clang and
# -fsanitize=fuzzer-no-link,address,undefined, builds its static library moerate_core, and links each
# tests/fuzz/fuzz_*.c into OUT/bin with -fsanitize=fuzzer,address,undefined and the libraries CMake
# links moerate with (read from the generated link line of the moerate target, so the list stays the
# top-level CMakeLists.txt's).  Installs nothing unless --install-deps is given.
set -euo pipefail

INSTALL=0
OUT=
for a in "$@"; do
  case "$a" in
    --install-deps) INSTALL=1 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) OUT="$a" ;;
  esac
done
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$(cd "$HERE/../.." && pwd)"
OUT=${OUT:-$SRC/build-fuzz}
CC=${CC:-clang}

# libFuzzer's runtime is Debian's libclang-rt-<version>-dev (clang alone does not pull it in)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' > "$probe/p.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2> "$probe/err"; then
  ver=$("$CC" --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
  pkg="clang clang-${ver:-14} libclang-rt-${ver:-14}-dev"
  if [ "$INSTALL" = 1 ]; then
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkg
  else
    echo "build.sh: $CC cannot link -fsanitize=fuzzer: install the libFuzzer runtime (apt-get install $pkg), or rerun with --install-deps" >&2
    exit 2
  fi
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
mkdir -p "$OUT/lib" "$OUT/bin"
cmake -S "$SRC" -B "$OUT/lib" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $SAN" > "$OUT/lib/configure.log"
make -C "$OUT/lib" -j"$(nproc)" moerate_core > "$OUT/lib/build.log"

# moerate's include flags and link libraries, as CMake computed them
INCS=$(sed -n 's/^C_INCLUDES = //p' "$OUT/lib/CMakeFiles/moerate_core.dir/flags.make")
DEFS=$(sed -n 's/^C_DEFINES = //p' "$OUT/lib/CMakeFiles/moerate_core.dir/flags.make")
LIBS=$(sed -e 's/.* -o moerate //' "$OUT/lib/CMakeFiles/moerate.dir/link.txt" | sed -e "s# libmoerate_core.a # $OUT/lib/libmoerate_core.a #")
WRAP="-rdynamic -ldl -Wl,--wrap=exit -Wl,--wrap=PetscOptionsCreate -Wl,--wrap=PetscOptionsDestroy"

for f in "$HERE"/fuzz_*.c; do
  name=$(basename "$f" .c)
  "$CC" -O1 -g $SAN -fsanitize=fuzzer -DMOE_FUZZ_SRC="\"$SRC/src/\"" $DEFS $INCS -I"$HERE" \
    "$f" -o "$OUT/bin/$name" $WRAP $LIBS &
done
wait
n=$(ls "$OUT"/bin/fuzz_* | wc -l)
echo "build.sh: $n harnesses in $OUT/bin"
