#!/usr/bin/env bash
# Prepare (idempotently) the initramfs used by tests/vm/systemd-run.sh, in the cache that
# prepare.sh fills (kernel package, vmlinux):
#   CACHE_DIR/initramfs-systemd.cpio.gz  busybox-static + virtio/9p/overlay/autofs4/binfmt_misc
#                                        modules + guest-init-systemd.sh as /init
#   CACHE_DIR/ready-systemd              written last; key=value lines read by systemd-run.sh
#
# Usage: prepare-systemd.sh CACHE_DIR
# Runs prepare.sh first (kernel download, vmlinux). Safe to run concurrently (flock on
# CACHE_DIR/.lock-systemd); a no-op when the initramfs is up to date.
set -euo pipefail

die() { echo "prepare-systemd.sh: error: $*" >&2; exit 1; }
log() { echo "prepare-systemd.sh: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/prepare.sh" "$1" || die "prepare.sh failed"
cache=$(cd "$1" && pwd)

kver=$(sed -n 's/^kernel_version=//p' "$cache/ready")
stamp=$(cat "$here/prepare-systemd.sh" "$here/guest-init-systemd.sh" "$here/guest-lib.sh" | sha256sum | cut -c1-16)
stamp="$stamp-$kver"
cache_ready() {
    [ -f "$cache/ready-systemd" ] && grep -qx "stamp=$stamp" "$cache/ready-systemd" &&
        [ -f "$cache/initramfs-systemd.cpio.gz" ]
}
if cache_ready; then exit 0; fi
exec 9>"$cache/.lock-systemd"
flock 9
if cache_ready; then exit 0; fi
rm -f "$cache/ready-systemd"

busybox_bin=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$') || die "busybox-static not installed"
moddir=$cache/kernel/lib/modules/$kver
[ -d "$moddir" ] || die "$moddir missing (prepare.sh should have unpacked the kernel)"

stage=$cache/initramfs-systemd.d
rm -rf "$stage"
mkdir -p "$stage/lib/modules" "$stage/etc" "$stage/bin" "$stage/dev" "$stage/proc" \
    "$stage/sys" "$stage/mnt" "$stage/newroot"

# Modules in load order: each module's "depends=" first (no modules.dep ships in the .deb);
# one that is not found is assumed built in.
declare -A seen=()
order=()
add_module() {
    local m=$1 f deps d
    [ -z "${seen[$m]:-}" ] || return 0
    seen[$m]=1
    f=$(find "$moddir/kernel" \( -name "$m.ko*" -o -name "${m//_/-}.ko*" \) -print -quit)
    if [ -z "$f" ]; then log "module $m not found (assuming built-in)"; return 0; fi
    case $f in
        *.ko) cp "$f" "$stage/lib/modules/$m.ko" ;;
        *.ko.xz) xz -dc "$f" >"$stage/lib/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "$f" >"$stage/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -dc "$f" >"$stage/lib/modules/$m.ko" ;;
        *) die "unknown module format: $f" ;;
    esac
    deps=$(tr '\0' '\n' <"$stage/lib/modules/$m.ko" | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_module "$d"; done
    order+=("$m")
}
# 9p for the host root and the results share; overlay for a writable root; autofs4 and
# binfmt_misc because systemd mounts them early and there is no kmod in the initramfs.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
    9pnet 9pnet_virtio netfs fscache 9p overlay autofs4 binfmt_misc; do
    add_module "$m"
done
printf '%s\n' "${order[@]}" >"$stage/etc/modules.boot"
log "modules: ${order[*]}"

cp "$busybox_bin" "$stage/bin/busybox"
for applet in $("$busybox_bin" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$stage/bin/$applet"
done
ln -s bin "$stage/sbin"
install -m 0755 "$here/guest-init-systemd.sh" "$stage/init"
mkdir -p "$stage/lib"
install -m 0644 "$here/guest-lib.sh" "$stage/lib/climits-vm.sh"
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --quiet | gzip -6 >"$cache/initramfs-systemd.cpio.gz.tmp")
mv "$cache/initramfs-systemd.cpio.gz.tmp" "$cache/initramfs-systemd.cpio.gz"
rm -rf "$stage"
printf 'stamp=%s\ninitrd=initramfs-systemd.cpio.gz\n' "$stamp" >"$cache/ready-systemd.tmp"
mv "$cache/ready-systemd.tmp" "$cache/ready-systemd"
log "initramfs ready in $cache"
