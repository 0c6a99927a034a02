#!/bin/sh
# /init of the glassbox v2 guest's initramfs (busybox sh, PID 1).
# Loads the 9p/overlay modules, mounts the host root (9p, read-only) under a
# tmpfs overlay, and switch_roots into it with stage2.sh as the new PID 1.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod "/mod/$m" || echo "v2-init: insmod $m failed"; done
mkdir -p /lower /rw /newroot
o=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$o,ro,cache=loose" hostroot /lower || { echo "v2-init: cannot mount hostroot"; poweroff -f; }
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot \
  || { echo "v2-init: overlay root failed"; poweroff -f; }
mkdir -p /newroot/v2
mount -t 9p -o "$o,cache=none" scratch /newroot/v2 || { echo "v2-init: cannot mount scratch"; poweroff -f; }
mkdir -p /newroot/.v2bin; cp /bin/busybox /newroot/.v2bin/busybox
cp /stage2.sh /newroot/.v2-stage2
chmod 0755 /newroot/.v2bin/busybox /newroot/.v2-stage2
umount /proc /sys /dev
exec switch_root /newroot /.v2-stage2
