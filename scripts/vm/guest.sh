#!/bin/bash
# PID 1 of the cgroup v2 guest after switch_root (scripts/vm/initramfs-init starts it). The root
# file system is the host's, read-only over 9p; /tmp and /run are the guest's own tmpfs; the
# result share is /run/vm-results. It mounts cgroup2 with the memory controller enabled for
# children, brings up loopback, runs the job the host left in the share (job.sh) in a leaf cgroup
# of its own (/vm-job: memstrain does not run in the root cgroup, as in a pod; PID 1 stays in the
# root, as on a node), writes the job's exit code, and powers off. Being PID 1, it also reaps
# orphans (bash's wait reaps any child).
set -u
R=/run/vm-results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp/home LANG=C.UTF-8 TMPDIR=/tmp
mkdir -p "$HOME"

poweroff_now() {
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
}
trap poweroff_now EXIT

echo booted > "$R/booted"
# devtmpfs has no /dev/fd: process substitution and /dev/stdin need it.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts && ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || { echo "guest: mount cgroup2 failed" > "$R/guest-error"; exit 1; }
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/vm-job
/bin/busybox ip link set lo up
/bin/busybox hostname memstrain-vm

{
  echo "up $(cut -d' ' -f1 /proc/uptime) s when the guest script started"
  echo "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)" MiB"}' /proc/meminfo)"
  echo "thp enabled: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
  echo "thp defrag:  $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
  echo "cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
} > "$R/guest-info"

cd /tmp
bash -c 'echo $$ > /sys/fs/cgroup/vm-job/cgroup.procs && exec bash "$0"' "$R/job.sh" > >(tee "$R/job.log" > /dev/console) 2>&1 &
job=$!
wait "$job"
rc=$?
echo "$rc" > "$R/exit-code"
