#!/bin/sh
# /init of the tests/vm systemd initramfs (busybox sh, PID 1 until switch_root). Built into
# the initramfs by prepare-systemd.sh. It puts a writable overlay (tmpfs upper layer) over
# the host root (read-only 9p), installs a one-shot test unit in it, and switch_roots into
# /lib/systemd/systemd. The test unit runs the command and powers the VM off.
# Talks to systemd-run.sh through the "xfer" 9p share, mounted at /climits-xfer in the guest:
#   in:  xfer/cmd.sh    CFG_* variables and `set -- COMMAND ARGS...` (shell-quoted)
#   out: xfer/output    COMMAND's stdout+stderr
#        xfer/exitcode  COMMAND's exit status (written last = the verdict)
#        xfer/journal    the guest's journal;  xfer/dmesg  its kernel log
#        xfer/fatal     set-up error message (no verdict in that case)
# shellcheck shell=sh
export PATH=/bin
umask 022

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/null >/dev/console 2>&1

# log, die, guest_early_setup (tests/vm/guest-lib.sh)
# shellcheck source=guest-lib.sh
. /lib/climits-vm.sh
guest_early_setup
mkdir -p /mnt/rw
[ -f /mnt/xfer/cmd.sh ] || die "no cmd.sh in the xfer share"

# The writable root: overlay of a tmpfs over the read-only host root.
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || die "mount tmpfs for the overlay"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work \
    /newroot || die "mount the overlay root"
R=/newroot

# What would make systemd or dpkg misbehave in this VM (each cost a failed boot):
# - /.dockerenv: systemd believes it runs in docker and ignores the kernel command line;
# - policy-rc.d exits 101, so maintainer scripts would not start units;
# - tmp.conf makes systemd-tmpfiles empty the host's /tmp through 9p (minutes);
# - the host's /run (stale pid files, sockets of the host's systemd): a fresh tmpfs instead.
rm -f "$R/.dockerenv" "$R/usr/sbin/policy-rc.d"
mkdir -p "$R/etc/tmpfiles.d" "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /dev/null "$R/etc/tmpfiles.d/tmp.conf"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run" || die "mount tmpfs on /run"

# Mask every unit the host enables (services, timers; targets stay), and what makes no
# sense here or only costs boot time under TCG (each unit is seconds): gettys, time sync,
# network waits, periodic jobs, logind and dbus (systemctl as root needs neither), udev (no
# devices to wait for), modprobe (no kmod here), the journal flush (it stays in /run).
mask() { ln -sf /dev/null "$R/etc/systemd/system/$1"; }
for link in "$R"/etc/systemd/system/*.wants/*; do
    [ -e "$link" ] || [ -L "$link" ] || continue
    unit=${link##*/}
    case $unit in *.target) ;; *) mask "$unit" ;; esac
done
for unit in getty@.service serial-getty@.service console-getty.service \
    container-getty@.service getty-static.service systemd-timesyncd.service \
    systemd-networkd-wait-online.service NetworkManager-wait-online.service \
    apt-daily.timer apt-daily-upgrade.timer man-db.timer logrotate.timer \
    dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
    systemd-tmpfiles-clean.timer systemd-pstore.service cron.service \
    systemd-logind.service dbus.service dbus.socket systemd-user-sessions.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-hwdb-update.service \
    modprobe@.service systemd-modules-load.service systemd-sysusers.service \
    systemd-random-seed.service systemd-update-utmp.service \
    systemd-update-utmp-runlevel.service systemd-journal-flush.service \
    systemd-remount-fs.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
    dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-kernel-config.mount sys-fs-fuse-connections.mount systemd-firstboot.service \
    systemd-machine-id-commit.service ldconfig.service systemd-boot-system-token.service; do
    mask "$unit"
done

# The test: a one-shot service that runs the command and powers off, whatever happens.
mkdir -p "$R/climits-xfer" "$R/climits-vm"
mount --bind /mnt/xfer "$R/climits-xfer" || die "bind the xfer share into the new root"
cat >"$R/climits-vm/run-test" <<'EOF'
#!/bin/sh
# Runs inside the guest as climits-vm-test.service (systemd is PID 1).
X=/climits-xfer
CFG_DEADLINE=3600
CFG_ENV=
. "$X/cmd.sh"
# What is left of the host's timeout (CFG_DEADLINE seconds of guest uptime), less time to
# collect the journal and power off.
read -r up _ </proc/uptime
left=$((CFG_DEADLINE - ${up%.*} - 20))
[ "$left" -gt 10 ] || left=10
cd /tmp || cd /
[ -z "$CFG_ENV" ] || eval "export $CFG_ENV"
echo "systemd-run guest: system state $(systemctl is-system-running 2>/dev/null) at $(cut -d' ' -f1 /proc/uptime)s" >"$X/output"
timeout -k 5 "$left" "$@" >>"$X/output" 2>&1 </dev/null
rc=$?
timeout 10 journalctl -b --no-pager -o short-monotonic >"$X/journal" 2>&1
dmesg >"$X/dmesg" 2>&1
echo "$rc" >"$X/exitcode.tmp" && mv "$X/exitcode.tmp" "$X/exitcode"
sync
exit 0
EOF
chmod 755 "$R/climits-vm/run-test"
cat >"$R/etc/systemd/system/climits-vm-test.service" <<'EOF'
[Unit]
Description=climits-manager VM test (tests/vm/systemd-run.sh)
DefaultDependencies=no
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=simple
ExecStart=/climits-vm/run-test
Environment=HOME=/root TERM=dumb CLIMITS_IN_VM=1
StandardOutput=journal+console
StandardError=journal+console
EOF
ln -sf ../climits-vm-test.service "$R/etc/systemd/system/multi-user.target.wants/"

hostname climits-vm 2>/dev/null
log "switching root to systemd"
for fs in dev proc sys; do mount --move "/$fs" "$R/$fs" || die "move /$fs into the new root"; done
exec switch_root /newroot /lib/systemd/systemd
