#!/usr/bin/env bash
# Installs the Debian packages needed to build, test and run climits-manager; a no-op when
# they are all present. Debian 12, as root (or with sudo).
#   scripts/install-deps.sh          everything: build, tests, VMs, bench, package, hardening
#   scripts/install-deps.sh --demo   only what building the binaries and running the demo needs
#                                    (the README's first command: no qemu, clang, lintian, …)
set -euo pipefail

case "${1:-}" in
  "") only_demo=0 ;;
  --demo) only_demo=1 ;;
  *) echo "install-deps: unknown option $1 (use --demo, or nothing for everything)" >&2; exit 2 ;;
esac

# The binaries (climits-manager, climits-ctl, climits-exec) and the demo's leaky.
demo_packages=(
  g++ cmake make pkg-config
  libyaml-cpp-dev libuv1-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  # climits-exec, the per-start helper, is linked statically against musl (CMakeLists.txt)
  musl-tools
)
test_packages=(
  # the unit tests
  doctest-dev
  # tests: schema validation, the cgroup v2 VM (qemu under TCG, busybox initramfs), and the
  # load for scripts/loaded-test.sh
  python3 python3-jsonschema python3-yaml
  stress-ng
  qemu-system-x86 busybox-static xz-utils cpio
  # bench/: the competitor it is measured against, and its chart
  supervisor gnuplot-nox
  # the Debian package (packaging/, ctest -L package / -L systemd): build, man pages, checks
  build-essential debhelper scdoc lintian logrotate
  # the hardening build (-DCLIMITS_SANITIZE=ON -DCLIMITS_FUZZ=ON with clang): the compiler, its
  # ASan/UBSan/libFuzzer runtimes, and llvm-symbolizer for readable sanitizer reports
  clang libclang-rt-14-dev llvm
  # the formatting check (ctest -L format, scripts/check-format.sh)
  clang-format-14
)

packages=("${demo_packages[@]}")
[ "$only_demo" = 1 ] || packages+=("${test_packages[@]}")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 2; }
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
