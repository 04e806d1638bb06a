#!/usr/bin/env bash
# Run a host command inside a throw-away qemu VM booted with systemd as PID 1 on cgroup v2.
#
# Usage: systemd-run.sh [options] -- COMMAND [ARGS...]
#   --cache DIR      kernel/initramfs cache, shared with run.sh
#                    (default ${CLIMITS_VM_CACHE:-$HOME/.cache/climits-manager/vm})
#   --timeout SECS   hard limit for the whole VM run, boot included (default 300)
#   --mem SIZE       guest RAM, qemu -m syntax (default 1G; systemd needs more than run.sh)
#   --env NAME=VAL   extra environment variable for COMMAND (repeatable)
#   --verbose        stream the guest serial console (systemd's status) to stderr
#   --keep           keep the temporary directory (console log, journal, dmesg)
#
# The guest's root is the host's / (read-only 9p) under an overlay with a tmpfs upper layer,
# so COMMAND may change anything (dpkg -i, /etc, units) and nothing reaches the host. Its
# own /run is fresh; /tmp is the host's, seen through the overlay. systemd 252 boots it with
# systemd.unified_cgroup_hierarchy=1 to multi-user.target (units the host enables are
# masked), then runs COMMAND as root in climits-vm-test.service (Type=simple, after
# multi-user.target), with cwd /tmp and CLIMITS_IN_VM=1, and powers off.
# Exit status: COMMAND's status (124 if the in-guest deadline, --timeout less 30 s, fired), 125 if the VM gave no
# verdict (boot failure, hang, host-side timeout, prepare failure), 2 on usage errors.
# COMMAND's stdout and stderr are merged and printed once the VM has finished.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
err() { echo "systemd-run.sh: $*" >&2; }

cache=${CLIMITS_VM_CACHE:-${HOME:-/root}/.cache/climits-manager/vm}
timeout=300
mem=1G
verbose=${CLIMITS_VM_VERBOSE:-0}
keep=${CLIMITS_VM_KEEP:-0}
envs=()
while [ $# -gt 0 ]; do
    case $1 in
        --cache) cache=${2:?}; shift 2 ;;
        --timeout) timeout=${2:?}; shift 2 ;;
        --mem) mem=${2:?}; shift 2 ;;
        --env) envs+=("${2:?}"); shift 2 ;;
        --verbose | -v) verbose=1; shift ;;
        --keep) keep=1; shift ;;
        --) shift; break ;;
        -h | --help) usage ;;
        *) err "unknown option: $1"; usage ;;
    esac
done
[ $# -gt 0 ] || { err "no COMMAND given"; usage; }
if ! [[ $timeout =~ ^[0-9]+$ ]] || [ "$timeout" -lt 30 ]; then err "bad --timeout (30 or more): $timeout"; exit 2; fi
[[ $mem =~ ^[0-9]+[KMGT]?$ ]] || { err "bad --mem: $mem"; exit 2; }
for e in ${envs[@]+"${envs[@]}"}; do
    [[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { err "bad --env: $e"; exit 2; }
done
cmd=$1
case $cmd in
    /*) ;;
    */*) cmd=$(realpath -s "$cmd") ;;
    *) cmd=$(command -v "$cmd") || { err "command not found: $1"; exit 2; } ;;
esac
if [ ! -x "$cmd" ] || [ -d "$cmd" ]; then err "not an executable file: $cmd"; exit 2; fi
shift

"$here/prepare-systemd.sh" "$cache" || { err "prepare-systemd.sh failed"; exit 125; }
cache=$(cd "$cache" && pwd)
kernel=$cache/$(sed -n 's/^kernel_image=//p' "$cache/ready")
initrd=$cache/$(sed -n 's/^initrd=//p' "$cache/ready-systemd")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/climits-systemd-vm.XXXXXX")
qpid=
tailpid=
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
    [ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null || true
    if [ "$keep" = 1 ]; then err "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
envstr=
for e in ${envs[@]+"${envs[@]}"}; do envstr+=" $(q "$e")"; done
mkdir "$tmp/xfer"
{
    # The guest stops COMMAND at this uptime, leaving time to collect logs and power off.
    echo "CFG_DEADLINE=$((timeout - 10))"
    echo "CFG_ENV=$(q "$envstr")"
    printf 'set --'
    printf ' %s' "$(q "$cmd")"
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
} >"$tmp/xfer/cmd.sh"

show_status=0
[ "$verbose" != 1 ] || show_status=1
bios=()
[ ! -f /usr/share/qemu/qboot.rom ] || bios=(-bios /usr/share/qemu/qboot.rom)
# shellcheck disable=SC2054  # the commas are qemu option syntax
qemu=(
    qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 1 -m "$mem"
    ${bios[@]+"${bios[@]}"}
    -nographic -no-reboot -nodefaults -serial stdio
    -kernel "$kernel" -initrd "$initrd"
    -append "console=ttyS0 quiet panic=-1 mitigations=off systemd.unified_cgroup_hierarchy=1 systemd.unit=multi-user.target systemd.show_status=$show_status"
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
    -virtfs "local,path=$tmp/xfer,mount_tag=xfer,security_model=none"
)
: >"$tmp/console.log"
start=$SECONDS
timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$tmp/console.log" 2>&1 &
qpid=$!
if [ "$verbose" = 1 ]; then
    tail -n +1 -f --pid="$qpid" "$tmp/console.log" >&2 &
    tailpid=$!
fi
qrc=0
wait "$qpid" || qrc=$?
qpid=
if [ -n "$tailpid" ]; then wait "$tailpid" 2>/dev/null || true; tailpid=; fi

[ ! -f "$tmp/xfer/output" ] || cat "$tmp/xfer/output"
rc=$(cat "$tmp/xfer/exitcode" 2>/dev/null || true)
if [[ $rc =~ ^[0-9]+$ ]]; then
    [ "$verbose" != 1 ] || err "VM finished in $((SECONDS - start))s, exit status $rc"
    if [ "$rc" -ne 0 ] && [ -f "$tmp/xfer/journal" ]; then
        err "the guest's journal, last 60 lines:"
        tail -n 60 "$tmp/xfer/journal" >&2
    fi
    exit "$rc"
fi

if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
    err "no verdict: VM timed out after ${timeout}s"
else
    err "no verdict: qemu exited with status $qrc after $((SECONDS - start))s"
fi
[ ! -f "$tmp/xfer/fatal" ] || err "guest set-up error: $(cat "$tmp/xfer/fatal")"
if [ -s "$tmp/console.log" ]; then
    err "last lines of the serial console:"
    tail -n 40 "$tmp/console.log" >&2
else
    err "serial console is empty: the kernel did not start"
fi
exit 125
