#!/usr/bin/env bash
# build-node-image.sh OUT — the demo node image, from Debian's packages: OUT/vmlinuz (the
# kernel of linux-image-amd64) and OUT/initrd.img (busybox, the kernel modules a QEMU node
# needs, cryptsetup and mkfs.ext4 with their libraries, and /init). Then:
#
#   warden image add node --kernel OUT/vmlinuz --initrd OUT/initrd.img --with-agent \
#       --agent-server https://WARDEN:8443 --cmdline "console=ttyS0,115200 panic=-1"
#
# adds warden-agent, its libraries, the server CA and URL, and builds the UKI. /init brings
# up the network with DHCP, runs `warden-agent attest --unlock /dev/vda` (or `register` when
# the command line says warden.mode=register, `secureboot-enrol` when it says
# warden.mode=enrol), prints one WARDEN-NODE line saying how it went, and powers off (or
# reboots, after an enrolment). Needs busybox-static, kmod, cryptsetup-bin and e2fsprogs installed.
set -euo pipefail
OUT=${1:?usage: build-node-image.sh OUT}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The kernel: whatever linux-image-amd64 depends on now, unpacked, not installed.
PACKAGE=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
(cd "$WORK" && apt-get download "$PACKAGE" >/dev/null 2>&1)
dpkg-deb --fsys-tarfile "$WORK"/"$PACKAGE"_*.deb | tar -x -C "$WORK" ./boot ./lib/modules
VERSION=${PACKAGE#linux-image-}
cp "$WORK/boot/vmlinuz-$VERSION" "$OUT/vmlinuz"

ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,mnt,etc/warden,usr/share/udhcpc}
cp /usr/bin/busybox "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
    [ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done
# The kernel asks /sbin/modprobe for what it lacks (a cipher template, say).
ln -s ../bin/busybox "$ROOT/sbin/modprobe"

# The modules a QEMU node needs (virtio PCI, network and disk; dm-crypt; ext4) with every
# module they depend on, as modules.dep says (depmod makes it: the package does not ship it).
depmod -b "$WORK" "$VERSION"
MODULES=$ROOT/lib/modules/$VERSION
mkdir -p "$MODULES"
needed() {
    local name=$1 path
    path=$(awk -F: -v m="/$name.ko" 'index($1, m) && substr($1, length($1) - length(m) + 1) == m {print $0; exit}' \
        "$WORK/lib/modules/$VERSION/modules.dep")
    [ -n "$path" ] || { echo "module $name not found" >&2; exit 1; }
    for file in ${path//:/ }; do
        mkdir -p "$MODULES/$(dirname "$file")"
        cp "$WORK/lib/modules/$VERSION/$file" "$MODULES/$file"
    done
}
for module in virtio_pci virtio_net virtio_blk dm-crypt ext4 crc32c_generic xts ecb aesni-intel efivarfs; do needed "$module"; done
cp "$WORK/lib/modules/$VERSION"/modules.{order,builtin,builtin.modinfo} "$MODULES/"
depmod -b "$ROOT" "$VERSION"

# cryptsetup and mkfs.ext4 with the libraries ldd names, at their paths.
for tool in /usr/sbin/cryptsetup /usr/sbin/mkfs.ext4 /usr/sbin/mke2fs; do
    cp "$tool" "$ROOT/usr/sbin/"
    for library in $(ldd "$tool" | awk '/=> \// {print $3} /^\t\// {print $1}'); do
        mkdir -p "$ROOT$(dirname "$library")"
        cp -L "$library" "$ROOT$library"
    done
done
printf 'root:x:0:0:root:/:/bin/sh\n' > "$ROOT/etc/passwd"

cat > "$ROOT/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc's hook: configure the address and the default route it was given.
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        ;;
esac
exit 0
EOF
chmod 755 "$ROOT/usr/share/udhcpc/default.script"

cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# The demo node: network, attestation, the released key opens (or formats) /dev/vda.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for module in virtio_pci virtio_net virtio_blk dm-crypt ext4 crc32c_generic xts ecb aesni-intel efivarfs; do modprobe "$module" 2>/dev/null; done
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -q -n -t 10 -T 2 -s /usr/share/udhcpc/default.script || echo "WARDEN-NODE: no DHCP lease"
echo "WARDEN-NODE: address $(ip -4 -o addr show dev eth0 | awk '{print $4}'), route $(ip route | awk '/default/ {print $3}')"
mode=attest
for word in $(cat /proc/cmdline); do
    case "$word" in warden.mode=*) mode=${word#warden.mode=} ;; esac
done
# Every appliance, one URL per line, in the order to try them.
servers=""
for url in $(cat /etc/warden/server); do servers="$servers --server $url"; done
# The appliances an operator removed, as the last release listed them, are kept in an EFI
# variable (the disk is still locked) and refused from then on. Not on a legacy BIOS.
if [ -d /sys/firmware/efi ] && mount -t efivarfs efivarfs /sys/firmware/efi/efivars; then
    servers="$servers --removed-appliances /sys/firmware/efi/efivars/WardenRemovedAppliances-eb768261-75ee-4827-8085-bdcc48001e7a"
fi
if [ "$mode" = register ]; then
    warden-agent register $servers --ca /etc/warden/ca.pem && result=registered || result=failed
elif [ "$mode" = enrol ]; then
    # Warden's Secure Boot enrolment image: a firmware in setup mode gets the rack's PK, KEK
    # and db and reboots under them; any other machine is only registered.
    said=$(warden-agent secureboot-enrol $servers --ca /etc/warden/ca.pem) && echo "$said" || said=failed
    case "$said" in *"enrolled the rack's"*) result=enrolled ;; *registered*) result=registered ;; *) result=failed ;; esac
else
    # A legacy BIOS may leave no event log: the agent then attests without one. (The
    # kernel hands init the command line's bare words as arguments: dropped first.)
    eventlog=/sys/kernel/security/tpm0/binary_bios_measurements
    set --
    [ -e "$eventlog" ] && set -- --eventlog "$eventlog" || echo "WARDEN-NODE: the firmware left no event log"
    warden-agent attest $servers --ca /etc/warden/ca.pem "$@" --unlock /dev/vda && result=unlocked || result=refused
fi
if [ "$result" = unlocked ] && [ -s /mnt/warden/etc/rancher/k3s/config.yaml ]; then
    echo "WARDEN-NODE: SUCCESS: /dev/vda unlocked, k3s config present ($(wc -c < /mnt/warden/etc/rancher/k3s/config.yaml) bytes)"
    umount /mnt/warden
else
    echo "WARDEN-NODE: $result"
fi
sync
# After an enrolment the firmware must start again to enforce Secure Boot under the new keys.
[ "$result" = enrolled ] && reboot -f
poweroff -f
EOF
chmod 755 "$ROOT/init"

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) > "$OUT/initrd.img"
echo "node image: $OUT/vmlinuz ($VERSION), $OUT/initrd.img ($(stat -c %s "$OUT/initrd.img") bytes)"
