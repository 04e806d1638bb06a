# shellcheck shell=bash
# shellcheck disable=SC2154  # cache, timeout, mem, verbose, keep, envs: set by the caller
# What run.sh and systemd-run.sh both do on the host around one qemu run, sourced by both:
# the COMMAND's path, the temporary directory, the xfer share's cmd.sh, the boot, and the
# verdict. The caller defines err() and sets cache, timeout, mem, verbose, keep and envs.

# The guest sees the host root at the same paths: COMMAND must be an absolute host path.
# Sets cmd; exits 2 when it names no executable file.
vm_resolve_command() {
    cmd=$1
    case $cmd in
        /*) ;;
        */*) cmd=$(realpath -s "$cmd") ;;
        *) cmd=$(command -v "$cmd") || { err "command not found: $1"; exit 2; } ;;
    esac
    if [ ! -x "$cmd" ] || [ -d "$cmd" ]; then err "not an executable file: $cmd"; exit 2; fi
}

# --mem and --env, the same for both VMs.
vm_check_mem_and_env() {
    [[ $mem =~ ^[0-9]+[KMGT]?$ ]] || { err "bad --mem: $mem"; exit 2; }
    local e
    for e in ${envs[@]+"${envs[@]}"}; do
        [[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { err "bad --env: $e"; exit 2; }
    done
}

# Sets tmp, a fresh directory named after PREFIX with the xfer share in it. At exit qemu
# and the console tail are killed and the directory removed (kept with --keep).
vm_make_tmp() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    mkdir "$tmp/xfer"
    qpid=
    tailpid=
    trap vm_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
}

# shellcheck disable=SC2317  # invoked via trap
vm_cleanup() {
    [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
    [ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null || true
    if [ "$keep" = 1 ]; then err "kept $tmp"; else rm -rf "$tmp"; fi
}

# One word, shell-quoted for the guest's sh.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Prints the lines of cmd.sh that both guests read: CFG_ENV (the --env values, quoted) and
# `set -- COMMAND ARGS...`. The caller adds its own CFG_* lines before them.
vm_command_lines() {
    local envstr='' e a
    for e in ${envs[@]+"${envs[@]}"}; do envstr+=" $(q "$e")"; done
    echo "CFG_ENV=$(q "$envstr")"
    printf 'set --'
    printf ' %s' "$(q "$cmd")"
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
}

# Boots KERNEL with INITRD and the kernel command line APPEND: TCG, one CPU, $mem of RAM,
# the host root (read-only) and $tmp/xfer shared over 9p, the serial console in
# $tmp/console.log (also on stderr with --verbose), killed after $timeout s. Sets qrc (qemu's
# status) and start (when it began, in $SECONDS).
vm_boot() {
    local bios=()
    [ ! -f /usr/share/qemu/qboot.rom ] || bios=(-bios /usr/share/qemu/qboot.rom)
    # shellcheck disable=SC2054  # the commas are qemu option syntax
    local qemu=(
        qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 1 -m "$mem"
        ${bios[@]+"${bios[@]}"}
        -nographic -no-reboot -nodefaults -serial stdio
        -kernel "$1" -initrd "$2" -append "$3"
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
}

# Prints COMMAND's output and exits with its status, the guest's verdict. Without one
# (boot failure, hang, set-up error) says why and exits 125. A caller's vm_after_verdict
# function, if defined, runs with the status before the exit (systemd-run.sh shows the
# journal of a failed run). EMPTY_CONSOLE_HINT is added to the message for an empty console.
vm_finish() {
    [ ! -f "$tmp/xfer/output" ] || cat "$tmp/xfer/output"
    local rc
    rc=$(cat "$tmp/xfer/exitcode" 2>/dev/null || true)
    if [[ $rc =~ ^[0-9]+$ ]]; then
        [ "$verbose" != 1 ] || err "VM finished in $((SECONDS - start))s, exit status $rc"
        if declare -F vm_after_verdict >/dev/null; then vm_after_verdict "$rc"; fi
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
        err "serial console is empty: the kernel did not start${EMPTY_CONSOLE_HINT:-}"
    fi
    exit 125
}
