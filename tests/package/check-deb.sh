#!/usr/bin/env bash
# Checks the Debian package built by packaging/build-deb.sh without installing it:
# contents (dpkg-deb -c), control fields and conffiles (dpkg-deb -I), the unit, the example
# configuration (climits-manager --check), the helper path compiled into the daemon, man
# pages (man and groff warnings), the logrotate snippet, and lintian (no error, no warning).
#
# Usage: check-deb.sh DEB SOURCE_DIR
set -uo pipefail
deb=${1:?usage: check-deb.sh DEB SOURCE_DIR}
src=${2:?usage: check-deb.sh DEB SOURCE_DIR}
export LC_ALL=C.UTF-8
[ -f "$deb" ] || { echo "FAIL: $deb does not exist (run packaging/build-deb.sh first)"; exit 1; }

fails=0
checks=0
pass() { checks=$((checks + 1)); echo "PASS: $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

work=$(mktemp -d "${TMPDIR:-/tmp}/climits-check-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
x=$work/root
dpkg-deb -x "$deb" "$x" || { echo "FAIL: dpkg-deb -x $deb"; exit 1; }
dpkg-deb -e "$deb" "$work/DEBIAN" || { echo "FAIL: dpkg-deb -e $deb"; exit 1; }

# ---------------------------------------------------------------- contents
dpkg-deb -c "$deb" | awk '{ sub(/^\.\//, "/", $6); print $1, $6 }' >"$work/contents"
has() { grep -qxF -- "$1 $2" "$work/contents"; }
for f in /usr/bin/climits-manager /usr/bin/climits-ctl /usr/libexec/climits-manager/climits-exec; do
    check "contents: $f (-rwxr-xr-x)" has -rwxr-xr-x "$f"
done
for f in /lib/systemd/system/climits-manager.service /etc/climits-manager/programs.yaml \
    /etc/logrotate.d/climits-manager /usr/share/climits-manager/programs.schema.json \
    /usr/share/man/man8/climits-manager.8.gz /usr/share/man/man8/climits-ctl.8.gz \
    /usr/share/man/man5/climits-programs.yaml.5.gz /usr/share/doc/climits-manager/copyright \
    /usr/share/doc/climits-manager/changelog.gz \
    /usr/share/doc/climits-manager/examples/reference.yaml \
    /usr/share/bash-completion/completions/climits-ctl \
    /usr/share/bash-completion/completions/climits-manager; do
    check "contents: $f (-rw-r--r--)" has -rw-r--r-- "$f"
done
for command in climits-ctl climits-manager; do
    check "bash completion: sourcing it registers a function for $command" \
        bash -c "source '$x/usr/share/bash-completion/completions/$command' && complete -p $command | grep -q -- '-F _'"
done
check "contents: docs/operations.md is shipped" \
    grep -qE " /usr/share/doc/climits-manager/operations.md(.gz)?$" "$work/contents"
check "contents: nothing under /usr/local, /usr/lib/systemd or /usr/etc" \
    sh -c "! grep -qE ' /usr/(local|lib/systemd|etc)/' '$work/contents'"

# ---------------------------------------------------------------- control fields
field() { dpkg-deb -f "$deb" "$1"; }
version=$(sed -n 's/^project(climits-manager VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
check "field Package: climits-manager" test "$(field Package)" = climits-manager
check "field Version: $version (CMakeLists.txt)" test "$(field Version)" = "$version"
check "field Architecture: $arch" test "$(field Architecture)" = "$arch"
check "field Section: admin, Priority: optional" test "$(field Section) $(field Priority)" = "admin optional"
check "field Maintainer is set" test -n "$(field Maintainer)"
# The C++ dependencies are linked in statically (CLIMITS_STATIC_DEPS): glibc is the only
# shared library, and Built-Using names the sources of everything linked in.
depends="$(field Depends)"
built_using="$(field Built-Using)"
check "field Depends: adduser and libc6 (from shlibs), no C++ library" \
    sh -c "echo '$depends' | grep -q 'adduser' && echo '$depends' | grep -q 'libc6' && ! echo '$depends' | grep -qE 'libuv1|libyaml-cpp|libspdlog|libfmt|libstdc'"
for source in musl 'gcc-[0-9]+' yaml-cpp libuv1 spdlog fmtlib; do
  check "field Built-Using names $source" \
      sh -c "echo '$built_using' | grep -qE '(^|, )$source \(= [^)]+\)'"
done
check "field Recommends: logrotate" test "$(field Recommends)" = logrotate
check "field Description is set" test -n "$(field Description)"
check "the file name is climits-manager_${version}_${arch}.deb" \
    test "$(basename "$deb")" = "climits-manager_${version}_${arch}.deb"
check "conffiles: programs.yaml and the logrotate snippet" \
    test "$(sort "$work/DEBIAN/conffiles" | tr '\n' ' ')" = "/etc/climits-manager/programs.yaml /etc/logrotate.d/climits-manager "
check "postinst creates the system group climits before starting the unit" \
    awk '/addgroup --system --quiet climits/ { g = NR } /deb-systemd-invoke/ { s = NR } END { exit !(g && s && g < s) }' "$work/DEBIAN/postinst"
check "postinst enables and starts the unit (dh_installsystemd)" \
    grep -q "deb-systemd-helper enable 'climits-manager.service'" "$work/DEBIAN/postinst"
check "postrm removes /var/log/climits-manager on purge" \
    grep -q "rm -rf /var/log/climits-manager" "$work/DEBIAN/postrm"

# ---------------------------------------------------------------- the programs
check "climits-manager --version says $version" \
    sh -c "'$x/usr/bin/climits-manager' --version | grep -qw '$version'"
check "climits-ctl --version says $version" sh -c "'$x/usr/bin/climits-ctl' --version | grep -qw '$version'"
# find_helper() looks beside the binary, then in CLIMITS_LIBEXEC_DIR, compiled in from the
# same CMake variable as the helper's install rule (the optimizer splits the string in the
# binary, so the build tree's header is checked; the VM test runs the installed helper).
info=$(find "$(dirname "$deb")/deb/climits-manager-$version" -maxdepth 3 \
    -path '*/obj-*/generated/build_info.h' -print -quit 2>/dev/null)
if [ -n "$info" ]; then
    check "the daemon was built to find its helper in /usr/libexec/climits-manager" \
        grep -qx '#define CLIMITS_LIBEXEC_DIR "/usr/libexec/climits-manager"' "$info"
fi

# ---------------------------------------------------------------- the unit
u=$x/lib/systemd/system/climits-manager.service
# shellcheck disable=SC2016  # $MAINPID is meant literally
for line in Type=notify Delegate=yes KillMode=mixed Restart=on-failure StartLimitBurst=3 \
    RuntimeDirectory=climits-manager OOMPolicy=continue TasksMax=infinity \
    "ExecStartPre=/usr/bin/climits-manager --check -c /etc/climits-manager/programs.yaml" \
    "ExecStart=/usr/bin/climits-manager -c /etc/climits-manager/programs.yaml" \
    'ExecReload=/bin/kill -HUP $MAINPID' WantedBy=multi-user.target; do
    check "unit: $line" grep -qxF "$line" "$u"
done
check "unit: no ProtectControlGroups/ProtectSystem (they break delegation or programs)" \
    sh -c "! grep -qE '^(ProtectControlGroups|ProtectSystem|PrivateDevices)=' '$u'"
if command -v systemd-analyze >/dev/null; then
    # verify checks the syntax, and that the executables exist: point it at the extracted ones.
    mkdir "$work/unit"
    sed "s|/usr/bin/|$x/usr/bin/|g" "$u" >"$work/unit/climits-manager.service"
    if out=$(systemd-analyze verify --man=no "$work/unit/climits-manager.service" 2>&1) &&
        [ -z "$out" ]; then
        pass "systemd-analyze verify: the unit is clean"
    else
        fail "systemd-analyze verify: $out"
    fi
fi

# ---------------------------------------------------------------- the example configuration
c=$x/etc/climits-manager/programs.yaml
if getent group climits >/dev/null; then
    check "the example passes climits-manager --check" "$x/usr/bin/climits-manager" --check -c "$c"
else
    # No climits group on this machine (postinst creates it): check the rest of the file,
    # and that the group is the only complaint.
    sed 's/^\(  control_group:\) climits /\1 root    /' "$c" >"$work/example.yaml"
    check "the example passes climits-manager --check (with control_group: root here)" \
        "$x/usr/bin/climits-manager" --check -c "$work/example.yaml"
    out=$("$x/usr/bin/climits-manager" --check -c "$c" 2>&1)
    check "... and as shipped, its only error is the missing group climits" \
        test "$(grep -c 'manager.control_group: group "climits" does not exist' <<<"$out") $(grep -c ': 1 error' <<<"$out")" = "1 1"
fi
check "the example runs no program" grep -qx "programs: {}" "$c"
check "the schema is schemas/programs.schema.json" \
    cmp -s "$x/usr/share/climits-manager/programs.schema.json" "$src/schemas/programs.schema.json"

# ---------------------------------------------------------------- man pages
for page in man8/climits-manager.8 man8/climits-ctl.8 man5/climits-programs.yaml.5; do
    gz=$x/usr/share/man/$page.gz
    gunzip -c "$gz" >"$work/page"
    out=$( { groff -man -Tutf8 -ww -z "$work/page"; MANWIDTH=80 man --warnings -l "$gz" >"$work/rendered"; } 2>&1)
    check "man ${page#*/}: renders without groff warnings" test -z "$out"
    check "man ${page#*/}: has NAME, SYNOPSIS, DESCRIPTION, SEE ALSO" \
        sh -c "grep -q '^NAME' '$work/rendered' && grep -q '^SYNOPSIS' '$work/rendered' && grep -q '^DESCRIPTION' '$work/rendered' && grep -q '^SEE ALSO' '$work/rendered'"
done

# ---------------------------------------------------------------- logrotate
r=$x/etc/logrotate.d/climits-manager
check "logrotate: /var/log/climits-manager/*.log" grep -q "^/var/log/climits-manager/\*\.log {" "$r"
check "logrotate: postrotate sends USR1 to the main process only" \
    grep -q "systemctl kill --kill-whom=main --signal=USR1 climits-manager.service" "$r"
if command -v logrotate >/dev/null; then
    check "logrotate --debug accepts the snippet" \
        sh -c "logrotate --debug --state '$work/state' '$r' >'$work/logrotate.out' 2>&1 && ! grep -qi 'error' '$work/logrotate.out'"
fi

# ---------------------------------------------------------------- lintian
if command -v lintian >/dev/null; then
    lintian --info --display-info --fail-on error,warning "$deb" >"$work/lintian" 2>&1
    rc=$?
    grep -v "^running with root privileges" "$work/lintian" | sed 's/^/    /'
    check "lintian: no error and no warning" test "$rc" -eq 0
else
    fail "lintian is not installed (scripts/install-deps.sh installs it)"
fi

echo "$((checks - fails))/$checks checks passed"
[ "$fails" -eq 0 ]
