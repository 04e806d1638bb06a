#!/bin/sh
# /init of the tests/vm initramfs (busybox sh, PID 1). Built into the
# initramfs by prepare.sh; talks to run.sh through the "xfer" 9p share:
#   in:  xfer/cmd.sh    CFG_* variables and `set -- COMMAND ARGS...` (shell-quoted)
#   out: xfer/output    COMMAND's stdout+stderr
#        xfer/exitcode  COMMAND's exit status (written last = the verdict)
#        xfer/dmesg     guest kernel log after the run
#        xfer/fatal     set-up error message (no verdict in that case)
# shellcheck shell=sh
# shellcheck disable=SC2016  # single-quoted $0/$@ are meant for the inner sh
# shellcheck disable=SC2034  # CFG_* defaults are overridden by cmd.sh
export PATH=/bin
umask 022

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/null >/dev/console 2>&1

# log, die, guest_early_setup (tests/vm/guest-lib.sh)
# shellcheck source=guest-lib.sh
. /lib/climits-vm.sh
guest_early_setup
mkdir -p /mnt/shadow

CFG_TIMEOUT=3600
CFG_SWAP=
CFG_ENV=
CFG_BINDS=
[ -f /mnt/xfer/cmd.sh ] || die "no cmd.sh in the xfer share"
# shellcheck disable=SC1091
. /mnt/xfer/cmd.sh
[ $# -gt 0 ] || die "no command given"

hostname climits-vm 2>/dev/null
ip link set lo up 2>/dev/null

# ---- optional zram swap
if [ -n "$CFG_SWAP" ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        insmod "/lib/modules/$m.ko" || die "insmod $m failed"
    done </etc/modules.swap
    [ -e /sys/block/zram0/disksize ] || die "no zram0 device"
    echo "$CFG_SWAP" >/sys/block/zram0/disksize || die "set zram0 disksize to $CFG_SWAP"
    mkswap /dev/zram0 >/dev/null || die "mkswap /dev/zram0"
    swapon /dev/zram0 || die "swapon /dev/zram0"
    log "swap: zram0 $CFG_SWAP"
fi

# ---- chroot into the (read-only) host root
R=/mnt/host
# Keep a view of the host's /tmp, /run and /dev/shm before they are shadowed
# by tmpfs, so paths below them can be bound back in (CFG_BINDS).
for d in tmp run dev/shm; do
    if [ -d "$R/$d" ]; then
        mkdir -p "/mnt/shadow/$d" && mount --bind "$R/$d" "/mnt/shadow/$d"
    fi
done
mount -t proc proc "$R/proc" || die "mount chroot /proc"
mount -t sysfs sysfs "$R/sys" || die "mount chroot /sys"
mount -t devtmpfs devtmpfs "$R/dev" || die "mount chroot /dev"
mkdir -p "$R/dev/shm" "$R/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts" 2>/dev/null
[ -e "$R/dev/fd" ] || ln -s /proc/self/fd "$R/dev/fd"
[ -e "$R/dev/stdin" ] || ln -s /proc/self/fd/0 "$R/dev/stdin"
[ -e "$R/dev/stdout" ] || ln -s /proc/self/fd/1 "$R/dev/stdout"
[ -e "$R/dev/stderr" ] || ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm" || die "mount chroot /dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" || die "mount chroot /tmp"
mount -t tmpfs -o mode=0755 tmpfs "$R/run" || die "mount chroot /run"
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 "$R/sys/fs/cgroup" ||
    die "mount cgroup2"
echo "+memory +pids" >"$R/sys/fs/cgroup/cgroup.subtree_control" ||
    die "enable memory/pids controllers"
# cpu and io as systemd passes them to a delegated service; each on its own and not fatal
# (a kernel without one still runs every other test).
for controller in cpu io; do
    echo "+$controller" >"$R/sys/fs/cgroup/cgroup.subtree_control" 2>/dev/null ||
        log "warning: the $controller controller cannot be enabled"
done

# Re-expose host paths that live below the tmpfs mounts (read-only).
for b in $CFG_BINDS; do
    case $b in
        /tmp/* | /run/* | /dev/shm/*) ;;
        *) continue ;;
    esac
    src=/mnt/shadow$b
    if [ -d "$src" ]; then
        mkdir -p "$R$b"
    elif [ -e "$src" ]; then
        mkdir -p "$R${b%/*}" && : >"$R$b"
    else
        log "warning: bind $b: not found on host"
        continue
    fi
    mount --bind "$src" "$R$b" || log "warning: bind $b failed"
done

# busybox for the in-chroot helper (cd + timeout); /run is a guest tmpfs.
BB=/run/climits-vm/busybox
mkdir -p "$R/run/climits-vm"
cp /bin/busybox "$R$BB"

log "running: $*"
# In a subshell that execs, so PID 1's "Killed"-style job messages go to the
# console rather than into the command's output.
(eval "exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    TERM=dumb CLIMITS_IN_VM=1 $CFG_ENV \
    chroot $R $BB sh -c 'cd /tmp && exec $BB timeout -k 5 \"\$0\" \"\$@\"' \"\$CFG_TIMEOUT\" \"\$@\"") \
    </dev/null >/mnt/xfer/output 2>&1
rc=$?
log "command exited with status $rc"

dmesg >/mnt/xfer/dmesg 2>/dev/null
echo "$rc" >/mnt/xfer/exitcode.tmp && mv /mnt/xfer/exitcode.tmp /mnt/xfer/exitcode
sync
umount /mnt/xfer 2>/dev/null
poweroff -f
echo o >/proc/sysrq-trigger
