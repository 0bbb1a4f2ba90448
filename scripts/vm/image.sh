#!/usr/bin/env bash
# Builds (once) what the throwaway cgroup v2 guest boots: Debian's kernel as an uncompressed
# vmlinux (a compressed bzImage through SeaBIOS takes ~9 s more to boot under TCG) and an initramfs
# of static busybox, the virtio/9p modules and scripts/vm/initramfs-init. Both are cached in
# CACHE/<kernel version>-<hash of this script and the init>/ and reused while neither changes.
#
# Usage: scripts/vm/image.sh CACHE      prints the directory holding vmlinux and initramfs.cpio.gz
#
# Needs Debian's linux-image-amd64 (the kernel and its modules; not linux-image-cloud-amd64, which
# has no 9p), busybox-static and cpio; scripts/vm/deps.sh installs them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${1:?usage: image.sh CACHE}"
mkdir -p "$CACHE"

# The newest installed Debian kernel that has its modules.
kver=""
for img in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V); do
  v="${img#/boot/vmlinuz-}"
  [[ -d "/lib/modules/$v/kernel/fs/9p" ]] && kver="$v"
done
if [[ -z "$kver" ]]; then
  echo "vm image: no /boot/vmlinuz-* with 9p modules in /lib/modules (install linux-image-amd64)" >&2
  exit 1
fi

stamp="$(cat "$HERE/image.sh" "$HERE/initramfs-init" /bin/busybox | sha256sum | cut -c1-12)"
out="$CACHE/$kver-$stamp"
if [[ -s "$out/vmlinux" && -s "$out/initramfs.cpio.gz" ]]; then
  echo "$out"
  exit 0
fi

work="$(mktemp -d "$CACHE/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT

# vmlinux: the xz stream inside the bzImage (Debian builds with CONFIG_KERNEL_XZ; gzip and zstd are
# looked for too). xz stops at the stream's end and complains about what follows: the output is
# checked as an ELF file instead of trusting the exit status.
extract() {
  local magic="$1" tool="$2"
  local off
  for off in $(LC_ALL=C grep -obUaP "$magic" "/boot/vmlinuz-$kver" | cut -d: -f1); do
    tail -c +$((off + 1)) "/boot/vmlinuz-$kver" | $tool > "$work/vmlinux" 2>/dev/null || true
    if [[ "$(head -c 4 "$work/vmlinux" 2>/dev/null | od -An -c | tr -d ' ')" == '177ELF' ]]; then return 0; fi
  done
  return 1
}
extract '\xFD7zXZ\x00' 'xz -dc' || extract '\x28\xb5\x2f\xfd' 'zstd -dcq' || extract '\x1f\x8b\x08\x00' 'gzip -dc' || {
  echo "vm image: could not find an xz, zstd or gzip kernel inside /boot/vmlinuz-$kver" >&2
  exit 1
}

# The initramfs: busybox, the modules in load order (modprobe resolves the dependencies), init.
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,newroot,modules}
cp /bin/busybox "$root/bin/busybox"
cp "$HERE/initramfs-init" "$root/init"
chmod 755 "$root/init"
: > "$root/modules/order"
for m in virtio_pci 9pnet_virtio 9p; do
  modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$root/modules/"
  basename "$ko" >> "$root/modules/order"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.cpio.gz"

mkdir -p "$out"
mv "$work/vmlinux" "$work/initramfs.cpio.gz" "$out/"
echo "$kver" > "$out/kernel-version"
echo "$out"
