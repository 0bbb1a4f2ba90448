#!/usr/bin/env bash
# Boots one throwaway cgroup v2 guest, runs JOB (a bash script) in it, and exits with JOB's exit
# code. The guest sees the host's root read-only (so build trees, the Go targets and Debian's
# userland are the host's own, at the same paths) and writes only to its tmpfs and to RESULTS,
# which holds afterwards: job.log (JOB's output), console.log (the serial console), guest-info
# (kernel, THP mode, controllers), exit-code, and whatever JOB wrote to /run/vm-results.
#
# Usage: scripts/vm/boot.sh --results DIR [--thp always|madvise|never] [--mem 3G] [--timeout SECS]
#                           [--cache DIR] JOB
#
# Exit: JOB's exit code; 124 when the guest ran past --timeout (it is killed); 125 when the guest
# did not come up or ended without an exit code (see console.log).
#
# Accelerator: KVM only where /proc/cpuinfo shows vmx or svm, /dev/kvm is usable and the guest
# really boots under it (a nested paravirtual /dev/kvm can fail a stock kernel); TCG otherwise.
# MEMSTRAIN_VM_ACCEL=tcg|kvm forces one.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
thp=madvise
mem=3G
timeout_s=1800
cache="$REPO/build/vm-cache"
results=""
while [[ $# -gt 1 ]]; do
  case "$1" in
    --thp) thp="$2"; shift 2 ;;
    --mem) mem="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    *) echo "boot.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
job="${1:?usage: boot.sh --results DIR [--thp MODE] JOB}"
[[ -n "$results" ]] || { echo "boot.sh: --results DIR is required" >&2; exit 2; }
case "$thp" in always|madvise|never) ;; *) echo "boot.sh: --thp always|madvise|never, got $thp" >&2; exit 2 ;; esac

image="$("$HERE/image.sh" "$cache")"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
rm -f "$results"/{booted,exit-code,job.log,console.log,guest-info,guest-error}
cp "$job" "$results/job.sh"

boot() {
  local accel="$1" cpu=max
  [[ "$accel" == kvm ]] && cpu=host
  # -nic none: the guest has loopback only. -no-reboot: a guest reboot or panic ends qemu.
  timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
    -machine "q35,accel=$accel" -cpu "$cpu" -smp 2 -m "$mem" -nic none -no-reboot \
    -display none -monitor none -serial stdio -nodefaults \
    -kernel "$image/vmlinux" -initrd "$image/initramfs.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 transparent_hugepage=$thp msguest=$HERE/guest.sh" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap" \
    < /dev/null > "$results/console.log" 2>&1
}

accel=tcg
if [[ "${MEMSTRAIN_VM_ACCEL:-}" == kvm ]] ||
   [[ -z "${MEMSTRAIN_VM_ACCEL:-}" && -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
  accel=kvm
fi
[[ "${MEMSTRAIN_VM_ACCEL:-}" == tcg ]] && accel=tcg

start=$(date +%s)
rc=0
boot "$accel" || rc=$?
if [[ "$accel" == kvm && ! -e "$results/booted" && -z "${MEMSTRAIN_VM_ACCEL:-}" ]]; then
  echo "vm: the guest did not boot under KVM (console: $results/console.log); trying TCG" >&2
  mv "$results/console.log" "$results/console-kvm.log"
  accel=tcg
  rc=0
  boot tcg || rc=$?
fi
echo "$accel" > "$results/accel"
echo "vm: guest ($accel, THP $thp) ran $(( $(date +%s) - start )) s" >&2

if [[ $rc -eq 124 || $rc -eq 137 ]]; then
  echo "vm: the guest ran past ${timeout_s} s and was killed (console: $results/console.log)" >&2
  exit 124
fi
if [[ ! -e "$results/booted" ]]; then
  echo "vm: the guest did not come up; the end of $results/console.log:" >&2
  tail -n 30 "$results/console.log" >&2
  exit 125
fi
if [[ ! -s "$results/exit-code" ]]; then
  echo "vm: the guest ended without an exit code; the end of $results/console.log:" >&2
  tail -n 30 "$results/console.log" >&2
  exit 125
fi
exit "$(cat "$results/exit-code")"
