#!/usr/bin/env bash
# Run a host command inside a throw-away qemu VM with a real cgroup v2 kernel.
#
# Usage: run.sh [options] -- COMMAND [ARGS...]
#   --cache DIR      kernel/initramfs cache (default ${CLIMITS_VM_CACHE:-$HOME/.cache/climits-manager/vm})
#   --timeout SECS   hard limit for the whole VM run, boot included (default 300)
#   --mem SIZE       guest RAM, qemu -m syntax (default 512M)
#   --swap SIZE      enable a zram swap device of SIZE (e.g. 256M) in the guest
#   --env NAME=VAL   extra environment variable for COMMAND (repeatable)
#   --bind PATH      host path below /tmp, /run or /dev/shm to make visible in the
#                    guest (those are fresh tmpfs there); COMMAND's directory is
#                    bound automatically (repeatable)
#   --verbose        stream the guest serial console to stderr
#   --keep           keep the temporary directory (console log, output) for debugging
#
# COMMAND runs as root in a chroot of the host's / (read-only 9p) with fresh
# /proc /sys /dev, tmpfs /tmp /run /dev/shm, cgroup2 at /sys/fs/cgroup with
# +memory +pids enabled in the root, cwd /tmp, env CLIMITS_IN_VM=1.
# Exit status: COMMAND's status (128+N if killed by signal N; 143 if the
# in-guest timeout fired), 125 if the VM gave no verdict (boot failure, hang,
# host-side timeout, set-up error, prepare failure), 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
err() { echo "run.sh: $*" >&2; }

cache=${CLIMITS_VM_CACHE:-${HOME:-/root}/.cache/climits-manager/vm}
timeout=300
mem=512M
swap=
verbose=${CLIMITS_VM_VERBOSE:-0}
keep=${CLIMITS_VM_KEEP:-0}
envs=()
binds=()
while [ $# -gt 0 ]; do
    case $1 in
        --cache) cache=${2:?}; shift 2 ;;
        --timeout) timeout=${2:?}; shift 2 ;;
        --mem) mem=${2:?}; shift 2 ;;
        --swap) swap=${2:?}; shift 2 ;;
        --env) envs+=("${2:?}"); shift 2 ;;
        --bind) binds+=("${2:?}"); shift 2 ;;
        --verbose | -v) verbose=1; shift ;;
        --keep) keep=1; shift ;;
        --) shift; break ;;
        -h | --help) usage ;;
        *) err "unknown option: $1"; usage ;;
    esac
done
[ $# -gt 0 ] || { err "no COMMAND given"; usage; }
if ! [[ $timeout =~ ^[0-9]+$ ]] || [ "$timeout" -eq 0 ]; then err "bad --timeout: $timeout"; exit 2; fi
[[ $mem =~ ^[0-9]+[KMGT]?$ ]] || { err "bad --mem: $mem"; exit 2; }
[ -z "$swap" ] || [[ $swap =~ ^[0-9]+[KMG]?$ ]] || { err "bad --swap: $swap"; exit 2; }
for e in ${envs[@]+"${envs[@]}"}; do
    [[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { err "bad --env: $e"; exit 2; }
done

# COMMAND must be a host path; the guest sees the host root at the same paths.
cmd=$1
case $cmd in
    /*) ;;
    */*) cmd=$(realpath -s "$cmd") ;;
    *) cmd=$(command -v "$cmd") || { err "command not found: $1"; exit 2; } ;;
esac
if [ ! -x "$cmd" ] || [ -d "$cmd" ]; then err "not an executable file: $cmd"; exit 2; fi
shift
dir=${cmd%/*}
case $dir in
    /tmp | /run | /dev/shm) binds+=("$cmd") ;;
    *) binds+=("$dir") ;;
esac
for b in "${binds[@]}"; do
    [[ $b == /* && $b != *[[:space:]]* ]] || { err "bad --bind (absolute, no spaces): $b"; exit 2; }
done

"$here/prepare.sh" "$cache" || { err "prepare.sh failed"; exit 125; }
cache=$(cd "$cache" && pwd)
kernel=$cache/$(sed -n 's/^kernel_image=//p' "$cache/ready")
initrd=$cache/$(sed -n 's/^initrd=//p' "$cache/ready")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/climits-vm.XXXXXX")
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
# Guest-side timeout: leave room for boot and shutdown inside the host timeout.
if [ "$timeout" -gt 60 ]; then gtimeout=$((timeout - 30)); else gtimeout=$((timeout / 2 + 1)); fi
envstr=
for e in ${envs[@]+"${envs[@]}"}; do envstr+=" $(q "$e")"; done
mkdir "$tmp/xfer"
{
    echo "CFG_TIMEOUT=$gtimeout"
    echo "CFG_SWAP=$(q "$swap")"
    echo "CFG_ENV=$(q "$envstr")"
    echo "CFG_BINDS=$(q "${binds[*]}")"
    printf 'set --'
    printf ' %s' "$(q "$cmd")"
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
} >"$tmp/xfer/cmd.sh"

bios=()
[ ! -f /usr/share/qemu/qboot.rom ] || bios=(-bios /usr/share/qemu/qboot.rom)
# shellcheck disable=SC2054  # the commas are qemu option syntax
qemu=(
    qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 1 -m "$mem"
    ${bios[@]+"${bios[@]}"}
    -nographic -no-reboot -nodefaults -serial stdio
    -kernel "$kernel" -initrd "$initrd"
    -append "console=ttyS0 quiet panic=-1 mitigations=off cgroup_no_v1=all"
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
    err "serial console is empty: the kernel did not start (--mem below ~96M?)"
fi
exit 125
