# shellcheck shell=sh
# What both guest inits (guest-init.sh, guest-init-systemd.sh) do first, as PID 1 in busybox
# sh: log and die, /proc and /sys, the boot modules, and the two 9p shares (xfer at
# /mnt/xfer, the host root read-only at /mnt/host). prepare.sh and prepare-systemd.sh put it
# in their initramfs as /lib/climits-vm.sh; the init sources it once /dev/console is its
# stdio.

log() { read -r up _ </proc/uptime 2>/dev/null; echo "climits-vm: [${up:-?}] $*"; }

# A set-up error: no verdict, so the host reports it (xfer/fatal) and the console's tail.
die() {
    log "FATAL: $*"
    [ -d /mnt/xfer/. ] && echo "$*" >/mnt/xfer/fatal 2>/dev/null
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    exit 1
}

# /proc, /sys, the boot modules, the two 9p shares.
guest_early_setup() {
    mount -t proc proc /proc || die "mount /proc"
    mount -t sysfs sysfs /sys || die "mount /sys"
    log "init started, kernel $(uname -r)"
    while read -r m; do
        [ -n "$m" ] || continue
        insmod "/lib/modules/$m.ko" || log "warning: insmod $m failed"
    done </etc/modules.boot
    p9opts=trans=virtio,version=9p2000.L,msize=262144
    mkdir -p /mnt/xfer /mnt/host
    mount -t 9p -o "$p9opts" xfer /mnt/xfer || die "mount 9p xfer share"
    mount -t 9p -o "$p9opts,ro" hostroot /mnt/host || die "mount 9p hostroot share"
}
