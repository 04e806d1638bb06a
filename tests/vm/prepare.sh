#!/usr/bin/env bash
# Prepare (idempotently) the cache used by tests/vm/run.sh:
#   CACHE_DIR/kernel/           Debian linux-image-*-amd64 package, dpkg -x'ed (not installed)
#   CACHE_DIR/vmlinux           uncompressed ELF kernel extracted from vmlinuz (PVH boot);
#                               absent if extraction failed -> run.sh boots vmlinuz instead
#   CACHE_DIR/initramfs.cpio.gz busybox-static + 9p/virtio/zram modules + guest-init.sh as /init
#   CACHE_DIR/ready             written last; key=value lines read by run.sh
#
# Usage: prepare.sh CACHE_DIR
# Safe to run concurrently (flock on CACHE_DIR/.lock); a no-op when the cache is ready.
# Environment: CLIMITS_VM_KERNEL_PKG=linux-image-X-amd64 overrides the kernel package.
set -euo pipefail

die() { echo "prepare.sh: error: $*" >&2; exit 1; }
log() { echo "prepare.sh: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
cache=$(cd "$1" && pwd)

# The stamp covers everything that goes into the initramfs, so editing the
# guest init (or this script) rebuilds it (the kernel download is kept).
stamp=$(cat "$here/prepare.sh" "$here/guest-init.sh" "$here/guest-lib.sh" | sha256sum | cut -c1-16)

cache_ready() {
    [ -f "$cache/ready" ] || return 1
    grep -qx "stamp=$stamp" "$cache/ready" || return 1
    local img
    img=$(sed -n 's/^kernel_image=//p' "$cache/ready")
    [ -n "$img" ] && [ -f "$cache/$img" ] && [ -f "$cache/initramfs.cpio.gz" ]
}

# Fast path without the lock.
if cache_ready; then exit 0; fi

exec 9>"$cache/.lock"
flock 9
# Someone else may have finished while we waited.
if cache_ready; then exit 0; fi
rm -f "$cache/ready"

# ---------------------------------------------------------------- host tools
need_install=()
command -v qemu-system-x86_64 >/dev/null || need_install+=(qemu-system-x86)
if [ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true)" != "install ok installed" ]; then
    need_install+=(busybox-static)
fi
command -v xz >/dev/null || need_install+=(xz-utils)
command -v cpio >/dev/null || need_install+=(cpio)
command -v gzip >/dev/null || need_install+=(gzip)
for t in dpkg-deb dpkg apt-get apt-cache flock sha256sum; do
    command -v "$t" >/dev/null || die "required tool '$t' not found"
done
if [ ${#need_install[@]} -gt 0 ]; then
    log "installing missing packages: ${need_install[*]}"
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${need_install[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Only the missing packages: naming installed ones would upgrade them.
    if ! apt-get install -y "${need_install[@]}" >&2; then
        apt-get update >&2
        apt-get install -y "${need_install[@]}" >&2
    fi
fi
busybox_bin=$(dpkg -L busybox-static | grep -m1 -E '/bin/busybox$') || die "busybox-static binary not found"
[ -x "$busybox_bin" ] || die "$busybox_bin not executable"

# ---------------------------------------------------------------- kernel
kpkg=${CLIMITS_VM_KERNEL_PKG:-}
if [ -z "$kpkg" ] && [ -f "$cache/kernel/.done" ]; then
    kpkg=$(cat "$cache/kernel/.done")   # keep the already downloaded kernel
fi
if [ -z "$kpkg" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
    [ -n "$kpkg" ] || die "cannot resolve the versioned kernel package from 'apt-cache depends linux-image-amd64'"
fi
if [ ! -f "$cache/kernel/.done" ] || [ "$(cat "$cache/kernel/.done")" != "$kpkg" ]; then
    log "downloading $kpkg"
    rm -rf "$cache/kernel" "$cache"/linux-image-*.deb "$cache/vmlinux"
    (cd "$cache" && apt-get download "$kpkg" >&2) ||
        { apt-get update >&2 && (cd "$cache" && apt-get download "$kpkg" >&2); } ||
        die "apt-get download $kpkg failed"
    deb=$(ls "$cache"/linux-image-*.deb)
    dpkg -x "$deb" "$cache/kernel"
    rm -f "$deb"
    echo "$kpkg" >"$cache/kernel/.done"
fi
kver=${kpkg#linux-image-}
vmlinuz="$cache/kernel/boot/vmlinuz-$kver"
moddir="$cache/kernel/lib/modules/$kver"
[ -f "$vmlinuz" ] || die "$vmlinuz missing"
[ -d "$moddir" ] || die "$moddir missing"

# vmlinux: decompress the xz payload of the bzImage (faster boot under TCG via PVH).
is_elf() { [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
kernel_image=vmlinuz
if [ -f "$cache/vmlinux" ] && is_elf "$cache/vmlinux"; then
    kernel_image=vmlinux
else
    rm -f "$cache/vmlinux"
    while read -r off; do
        # xz complains about the trailing bzImage data after the stream; ignore that.
        tail -c +"$((off + 1))" "$vmlinuz" | xz -dc >"$cache/vmlinux.tmp" 2>/dev/null || true
        if [ -s "$cache/vmlinux.tmp" ] && is_elf "$cache/vmlinux.tmp"; then
            mv "$cache/vmlinux.tmp" "$cache/vmlinux"
            kernel_image=vmlinux
            break
        fi
    done < <(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$vmlinuz" | cut -d: -f1)
    rm -f "$cache/vmlinux.tmp"
    [ "$kernel_image" = vmlinux ] || log "warning: could not extract vmlinux, falling back to vmlinuz"
fi
if [ "$kernel_image" = vmlinuz ]; then
    cp "$vmlinuz" "$cache/vmlinuz"
fi

# ---------------------------------------------------------------- modules
# No modules.dep ships in the .deb: resolve the order from each module's
# modinfo "depends=" field. Missing modules are assumed built-in (or absent).
declare -A mod_seen=()
mod_order=()
stage="$cache/initramfs.d"
rm -rf "$stage" "$cache/initramfs.cpio.gz.tmp"
mkdir -p "$stage/lib/modules" "$stage/etc"

find_module() {
    find "$moddir/kernel" \( -name "$1.ko" -o -name "$1.ko.*" -o -name "${1//_/-}.ko" -o -name "${1//_/-}.ko.*" \) -print -quit
}
add_module() {
    local m=$1 f deps d
    [ -z "${mod_seen[$m]:-}" ] || return 0
    mod_seen[$m]=1
    f=$(find_module "$m")
    if [ -z "$f" ]; then
        if grep -qE "/${m//_/[-_]}\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
            log "module $m is built-in"
        else
            log "module $m not found (assuming built-in)"
        fi
        return 0
    fi
    case $f in
        *.ko) cp "$f" "$stage/lib/modules/$m.ko" ;;
        *.ko.xz) xz -dc "$f" >"$stage/lib/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "$f" >"$stage/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -dc "$f" >"$stage/lib/modules/$m.ko" ;;
        *) die "unknown module format: $f" ;;
    esac
    deps=$(tr '\0' '\n' <"$stage/lib/modules/$m.ko" | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_module "$d"; done
    mod_order+=("$m")
}
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
    9pnet 9pnet_virtio netfs fscache 9p; do
    add_module "$m"
done
printf '%s\n' "${mod_order[@]}" >"$stage/etc/modules.boot"
mod_order=()
for m in zsmalloc zram; do add_module "$m"; done
printf '%s\n' "${mod_order[@]}" >"$stage/etc/modules.swap"
log "modules (boot): $(tr '\n' ' ' <"$stage/etc/modules.boot")"
log "modules (swap): $(tr '\n' ' ' <"$stage/etc/modules.swap")"

# ---------------------------------------------------------------- initramfs
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/mnt" "$stage/tmp" "$stage/root"
cp "$busybox_bin" "$stage/bin/busybox"
for applet in $("$busybox_bin" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$stage/bin/$applet"
done
ln -s bin "$stage/sbin"
install -m 0755 "$here/guest-init.sh" "$stage/init"
mkdir -p "$stage/lib"
install -m 0644 "$here/guest-lib.sh" "$stage/lib/climits-vm.sh"
echo "$kver" >"$stage/etc/kernel-version"
# /dev/console lets the kernel give /init its stdio; init also copes without it.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --quiet | gzip -6 >"$cache/initramfs.cpio.gz.tmp")
mv "$cache/initramfs.cpio.gz.tmp" "$cache/initramfs.cpio.gz"
rm -rf "$stage"

{
    echo "stamp=$stamp"
    echo "kernel_package=$kpkg"
    echo "kernel_version=$kver"
    echo "kernel_image=$kernel_image"
    echo "initrd=initramfs.cpio.gz"
} >"$cache/ready.tmp"
mv "$cache/ready.tmp" "$cache/ready"
log "cache ready in $cache (kernel $kver, booting $kernel_image)"
