#!/usr/bin/env bash
# Installs nats-ffi like any C library:
#   scripts/install.sh --prefix /usr/local [--destdir D] [--libdir lib]
# Builds the release library (cargo), then installs under DESTDIR/PREFIX:
#   LIBDIR/libnats_ffi.so.X.Y.Z (SONAME libnats_ffi.so.0, stripped) with the links
#     libnats_ffi.so.0 and libnats_ffi.so, and its debug info as libnats_ffi.so.X.Y.Z.debug
#     (found by debuggers through its .gnu_debuglink);
#   LIBDIR/libnats_ffi.a (one object whose only global symbols are nats_*);
#   include/nats_ffi.h, nats_ffi.hpp (C++17), nats_ffi_cdef.h (for cffi / LuaJIT ffi.cdef);
#   LIBDIR/pkgconfig/nats_ffi.pc; LIBDIR/cmake/nats_ffi/nats_ffiConfig.cmake (+ version file)
#     with imported targets nats_ffi::nats_ffi and nats_ffi::nats_ffi_static;
#   share/doc/nats_ffi/: LICENSE, THIRD-PARTY-NOTICES, CHANGELOG.md.
# Plain cargo and binutils rather than cargo-c: nothing to install first, and the static
# archive needs its symbols localized, which cargo-c does not do.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local destdir="" libdir=lib
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    --libdir) libdir=$2; shift 2 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
major=${version%%.*}
cargo build --release --locked -q
built=${CARGO_TARGET_DIR:-target}/release
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Shared library: debug info split off, then stripped.
so=libnats_ffi.so.$version
cp "$built/libnats_ffi.so" "$stage/$so"
objcopy --only-keep-debug "$stage/$so" "$stage/$so.debug"
strip --strip-unneeded "$stage/$so"
(cd "$stage" && objcopy --add-gnu-debuglink="$so.debug" "$so")

# Static library: one relocatable object with every Rust symbol made local, so that it can
# be linked beside other Rust static libraries without clashes.
ld -r --whole-archive "$built/libnats_ffi.a" -o "$stage/nats_ffi.o"
# Embedded LLVM bitcode would send ar's LTO plugins astray (and is useless to a C link).
objcopy --wildcard --keep-global-symbol='nats_*' --strip-debug \
  --remove-section=.llvmbc --remove-section=.llvmcmd "$stage/nats_ffi.o"
ar rcs "$stage/libnats_ffi.a" "$stage/nats_ffi.o"

lib=$destdir$libdir
inc=$destdir$prefix/include
doc=$destdir$prefix/share/doc/nats_ffi
install -d "$lib/pkgconfig" "$lib/cmake/nats_ffi" "$inc" "$doc"
install -m 755 "$stage/$so" "$lib/$so"
install -m 644 "$stage/$so.debug" "$lib/$so.debug"
ln -sf "$so" "$lib/libnats_ffi.so.$major"
ln -sf "libnats_ffi.so.$major" "$lib/libnats_ffi.so"
install -m 644 "$stage/libnats_ffi.a" "$lib/libnats_ffi.a"
for h in include/nats_ffi.h include/nats_ffi.hpp include/nats_ffi_cdef.h; do
  [ -f "$h" ] && install -m 644 "$h" "$inc/"
done
install -m 644 LICENSE CHANGELOG.md "$doc/"
[ -f THIRD-PARTY-NOTICES ] && install -m 644 THIRD-PARTY-NOTICES "$doc/"

# What a static link needs besides the archive (rustc --print native-static-libs, without
# libc and libgcc_s which every C link brings).
private="-lpthread -ldl -lm -lrt -lutil"
sed -e "s|@prefix@|$prefix|; s|@libdir@|$libdir|; s|@version@|$version|; s|@private@|$private|" \
  scripts/install/nats_ffi.pc.in > "$lib/pkgconfig/nats_ffi.pc"
sed -e "s|@libdir@|$libdir|g; s|@includedir@|$prefix/include|g; s|@private@|pthread;dl;m;rt;util|g" \
  scripts/install/nats_ffiConfig.cmake.in > "$lib/cmake/nats_ffi/nats_ffiConfig.cmake"
sed -e "s|@version@|$version|g" \
  scripts/install/nats_ffiConfigVersion.cmake.in > "$lib/cmake/nats_ffi/nats_ffiConfigVersion.cmake"
echo "installed nats-ffi $version into $destdir$prefix (libraries in $lib)"
