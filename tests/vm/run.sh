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
# shellcheck source-path=SCRIPTDIR source=host-lib.sh
. "$here/host-lib.sh"

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
vm_check_mem_and_env
[ -z "$swap" ] || [[ $swap =~ ^[0-9]+[KMG]?$ ]] || { err "bad --swap: $swap"; exit 2; }
vm_resolve_command "$1"
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

vm_make_tmp climits-vm
# Guest-side timeout: leave room for boot and shutdown inside the host timeout.
if [ "$timeout" -gt 60 ]; then gtimeout=$((timeout - 30)); else gtimeout=$((timeout / 2 + 1)); fi
{
    echo "CFG_TIMEOUT=$gtimeout"
    echo "CFG_SWAP=$(q "$swap")"
    echo "CFG_BINDS=$(q "${binds[*]}")"
    vm_command_lines "$@"
} >"$tmp/xfer/cmd.sh"

vm_boot "$kernel" "$initrd" "console=ttyS0 quiet panic=-1 mitigations=off cgroup_no_v1=all"
EMPTY_CONSOLE_HINT=" (--mem below ~96M?)"
vm_finish
