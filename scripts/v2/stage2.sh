#!/.v2bin/busybox sh
# PID 1 of the glassbox v2 guest, in the overlay root (host root + tmpfs upper).
# Mounts the API filesystems with a pure cgroup v2 hierarchy, runs /v2/cmd.sh,
# stores its exit code in /v2/rc and powers off.
B=/.v2bin/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
$B mkdir -p /dev/pts /dev/shm /dev/mqueue
$B mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
[ -e /dev/ptmx ] || $B ln -s pts/ptmx /dev/ptmx
$B mount -t tmpfs -o mode=1777 shm /dev/shm
$B mount -t mqueue mqueue /dev/mqueue 2>/dev/null
$B mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# /tmp (state roots, pytest's tmp) and /home (rootless test users) must not be the
# root's overlayfs: an overlay upper dir cannot live on one. They go on the run's
# ext4 disk (/dev/vda, see guest.sh: real file pages, reclaimable) or, without one
# (V2_DISK=0), /tmp on a tmpfs. The checkout may itself be under /tmp or /home
# (CI clones to /tmp): the host's directory stays visible aside (/.v2host/tmp) and
# the checkout's top directory is bound back in place.
cwd=$($B cat /v2/cwd 2>/dev/null)
dirs=tmp disk=
if [ -s /v2/disk ]; then
  dev=/dev/$($B cat /v2/disk)
  /sbin/modprobe -a virtio_blk ext4 || echo "v2-guest: modprobe virtio_blk ext4 failed"
  i=0; while [ ! -b "$dev" ] && [ $i -lt 100 ]; do $B usleep 50000; i=$((i + 1)); done
  $B mkdir -p /.v2disk
  if $B mount -t ext4 -o noinit_itable "$dev" /.v2disk; then dirs="tmp home" disk=/.v2disk
  else echo "v2-guest: cannot mount $dev: /tmp is a tmpfs"; fi
fi
for d in $dirs; do
  $B mkdir -p "/.v2host/$d"
  $B mount -o bind "/$d" "/.v2host/$d"
  mode=0755; [ "$d" = tmp ] && mode=1777
  if [ -n "$disk" ]; then
    $B mkdir -p "$disk/$d" && $B chmod "$mode" "$disk/$d" && $B mount -o bind "$disk/$d" "/$d"
  else $B mount -t tmpfs -o "mode=$mode" "$d" "/$d"
  fi
  case "$cwd" in
    /$d/?*) top=${cwd#/"$d"/}; top=${top%%/*}
            $B mkdir -p "/$d/$top" && $B mount -o bind "/.v2host/$d/$top" "/$d/$top" ;;
  esac
done
$B mount -t tmpfs -o mode=0755 run /run
$B mount -t bpf bpf /sys/fs/bpf 2>/dev/null
$B mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
$B hostname glassbox-v2
$B ip link set lo up
$B date -s "@$($B cat /v2/epoch 2>/dev/null || echo 0)" >/dev/null 2>&1
echo "v2-guest: up after $($B cut -d' ' -f1 /proc/uptime)s; kernel $($B uname -r); cgroup2 controllers: $($B cat /sys/fs/cgroup/cgroup.controllers)"
cd /
/bin/sh /v2/cmd.sh </dev/console >/dev/console 2>&1
echo $? > /v2/rc
echo "v2-guest: command exited $($B cat /v2/rc) after $($B cut -d' ' -f1 /proc/uptime)s"
$B sync
$B poweroff -f
