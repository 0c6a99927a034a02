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
# /tmp must be a real tmpfs (an overlay upper dir cannot live on overlayfs), but the
# checkout may itself be under /tmp (CI clones there): keep the host's /tmp visible
# aside and bind the checkout's top directory back in place.
$B mkdir -p /.v2tmp
$B mount -o bind /tmp /.v2tmp
$B mount -t tmpfs -o mode=1777 tmp /tmp
cwd=$($B cat /v2/cwd 2>/dev/null)
case "$cwd" in
  /tmp/?*) top=${cwd#/tmp/}; top=${top%%/*}
           $B mkdir -p "/tmp/$top" && $B mount -o bind "/.v2tmp/$top" "/tmp/$top" ;;
esac
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
