#!/usr/bin/env bash
# Builds the Debian package from this source tree:
#   BUILD_DIR/climits-manager_<version>_<arch>.deb
#
# Usage: packaging/build-deb.sh [--clean] BUILD_DIR
#   (or: cmake --build BUILD_DIR --target package)
#
# The source tree (the files git knows about, committed or not, minus ignored ones) is copied
# to BUILD_DIR/deb/climits-manager-<version>/ with packaging/debian/ as its debian/, and built
# there with `dpkg-buildpackage -b` (debhelper, cmake build system; see packaging/debian/rules).
# The compiler's build directory in there is kept between runs, so a second build only
# compiles what changed; --clean starts from nothing. The build log is BUILD_DIR/deb/build.log.
# Needs the build dependencies of packaging/debian/control (scripts/install-deps.sh).
set -euo pipefail

die() { echo "build-deb.sh: $*" >&2; exit 1; }
clean=0
if [ "${1:-}" = --clean ]; then clean=1; shift; fi
[ $# -eq 1 ] || die "usage: $0 [--clean] BUILD_DIR"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1"
build_dir=$(cd "$1" && pwd)

for tool in dpkg-buildpackage dpkg-parsechangelog dh cpio; do
    command -v "$tool" >/dev/null ||
        die "$tool not found: install the build dependencies with scripts/install-deps.sh"
done

version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
project_version=$(sed -n 's/^project(climits-manager VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "${version%%-*}" = "$project_version" ] ||
    die "packaging/debian/changelog says $version but CMakeLists.txt says $project_version: add a changelog entry (dch -v $project_version)"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=climits-manager_${version}_${arch}.deb

work=$build_dir/deb
tree=$work/climits-manager-$version
[ "$clean" = 0 ] || rm -rf "$work"
mkdir -p "$tree"

# The source files: git's list (tracked and untracked, minus ignored) in a checkout, else
# everything but build trees. Never the build directory itself, wherever it is.
list_sources() {
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$src" ls-files -z --cached --others --exclude-standard
    else
        (cd "$src" && find . -path ./.git -prune -o -path './build*' -prune -o \
            \( -type f -o -type l \) -printf '%P\0')
    fi
}
rel_build=
case $build_dir/ in "$src"/*) rel_build=${build_dir#"$src"/}/ ;; esac
# Everything but the compiler's build directory (obj-*) is replaced; copies keep their
# times, so make rebuilds only what really changed.
find "$tree" -mindepth 1 -maxdepth 1 ! -name 'obj-*' -exec rm -rf {} +
(
    cd "$src"
    list_sources | while IFS= read -r -d '' file; do
        [ -e "$file" ] || [ -L "$file" ] || continue          # deleted, not yet committed
        case $file in packaging/debian/*) continue ;; esac
        [ -z "$rel_build" ] || case $file in "$rel_build"*) continue ;; esac
        printf '%s\0' "$file"
    done | cpio --null -pdm --quiet "$tree"
)
cp -a "$src/packaging/debian" "$tree/debian"

echo "build-deb.sh: building $deb in $tree (log: $work/build.log)"
rm -f "$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes
start=$SECONDS
if ! (cd "$tree" &&
    DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
        dpkg-buildpackage -b --no-sign -nc) >"$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log" >&2
    grep -q "Unmet build dependencies" "$work/build.log" &&
        echo "build-deb.sh: install them with scripts/install-deps.sh" >&2
    die "dpkg-buildpackage failed (full log: $work/build.log)"
fi
[ -f "$work/$deb" ] || die "dpkg-buildpackage did not produce $work/$deb"
cp "$work/$deb" "$build_dir/$deb.tmp"
mv "$build_dir/$deb.tmp" "$build_dir/$deb"
echo "build-deb.sh: $build_dir/$deb ($((SECONDS - start)) s)"
