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
# shellcheck source-path=SCRIPTDIR source=host-lib.sh
. "$here/host-lib.sh"

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
vm_check_mem_and_env
vm_resolve_command "$1"
shift

"$here/prepare-systemd.sh" "$cache" || { err "prepare-systemd.sh failed"; exit 125; }
cache=$(cd "$cache" && pwd)
kernel=$cache/$(sed -n 's/^kernel_image=//p' "$cache/ready")
initrd=$cache/$(sed -n 's/^initrd=//p' "$cache/ready-systemd")

vm_make_tmp climits-systemd-vm
{
    # The guest stops COMMAND at this uptime, leaving time to collect logs and power off.
    echo "CFG_DEADLINE=$((timeout - 10))"
    vm_command_lines "$@"
} >"$tmp/xfer/cmd.sh"

show_status=0
[ "$verbose" != 1 ] || show_status=1
vm_boot "$kernel" "$initrd" "console=ttyS0 quiet panic=-1 mitigations=off systemd.unified_cgroup_hierarchy=1 systemd.unit=multi-user.target systemd.show_status=$show_status"

# A failed run: the guest's journal says what systemd and the units did.
vm_after_verdict() {
    if [ "$1" -ne 0 ] && [ -f "$tmp/xfer/journal" ]; then
        err "the guest's journal, last 60 lines:"
        tail -n 60 "$tmp/xfer/journal" >&2
    fi
}
vm_finish
