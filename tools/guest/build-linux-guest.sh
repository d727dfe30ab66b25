#!/usr/bin/env bash
# build-linux-guest.sh OUTDIR — build (or reuse) ferry's Linux test guest.
#
# Makes OUTDIR/vmlinuz, OUTDIR/initrd.img, OUTDIR/cmdline (kernel command
# line to boot them with), OUTDIR/versions (Debian packages used) and
# OUTDIR/stamp (sha256 of this script). If the stamp matches, nothing is done,
# so tests may call this every time. Concurrent runs serialise on OUTDIR.lock.
#
# Sources (Debian 12, via `apt-get download`, nothing is installed on the host):
#   the kernel linux-image-cloud-amd64 currently depends on (small, boots fast);
#   busybox-static (the whole userland).
# Host tools used: apt-get, dpkg-deb, python3, flock, sha256sum — all present
# where tools/run has installed ferry's build dependencies. No cpio, no kmod:
# the archive is written by python3, modules.dep by the downloaded busybox.
#
# Guest contract (tests rely on it; change it only together with them).
# Console (ttyS0) lines, each printed by /init, in this order:
#   ferry-guest: boot ID        exactly once; ID is a fresh random UUID per boot
#   ferry-guest: mac MAC        if eth0 exists (it is set up); MAC lower-case
#   ferry-guest: disk vda       if /dev/vda exists
#   ferry-guest: tick N         N = 1, 2, 3, … about every 0.5 s, forever
# Disk (/dev/vda, raw; 512-byte sectors), for each tick N, *before* the console
# line of tick N, each write followed by fsync so it has reached the image:
#   sector 0            "ferry-guest tick N boot ID\n", NUL-padded to 512 bytes
#   sector 1 + N % 1024 the same record (a ring of the last 1024 ticks)
# So after the guest stops, sector 0 holds a tick >= the last one on the
# console, of the same boot ID. The guest needs at least 1 + 1024 sectors.
# Memory: a background loop rewrites an 8 MiB file in /dev/shm (tmpfs) with
# random bytes every ~0.2 s so a live migration always has dirty pages.
# /init never exits (that would panic the kernel).
#
# NICs: virtio-net (and e1000/e1000e if the kernel has them — Debian's cloud
# kernel does not); disks: virtio-blk. Machine: QEMU `pc`, TCG is fine.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=${1%/}
self=$(readlink -f "${BASH_SOURCE[0]}")
hash=$(sha256sum "$self" | cut -d' ' -f1)

# The stamp is written last and removed first, so a matching stamp means the
# other files are complete and were made by this very script.
cached() {
  [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] && [ -f "$out/stamp" ] &&
    [ "$(cat "$out/stamp")" = "$hash" ]
}
cached && exit 0

mkdir -p "$out"
exec 9>"$out.lock"
flock 9
cached && exit 0 # someone else built it while we waited

# Work inside OUTDIR so the final renames stay on one filesystem (atomic).
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/dl" "$work/kernel" "$work/bb" "$work/root"

# apt drops privileges to _apt, which cannot write into our 0700 temp dir.
apt_opts=()
if [ "$(id -u)" -eq 0 ]; then apt_opts=(-o APT::Sandbox::User=root); fi

download() {
  local kpkg
  kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || return 1
  [ -n "$kpkg" ] || return 1
  (cd "$work/dl" && apt-get "${apt_opts[@]}" download "$kpkg" busybox-static)
}
if ! download; then
  echo "build-linux-guest: download failed; running apt-get update once" >&2
  apt-get update
  download
fi

: >"$work/versions"
for deb in "$work"/dl/*.deb; do
  # shellcheck disable=SC2016 # dpkg-deb expands ${…}, not the shell
  dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb" >>"$work/versions"
done
dpkg-deb -x "$work"/dl/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/dl/busybox-static_*.deb "$work/bb"
bb=$work/bb/bin/busybox # static amd64: also runs on the (amd64) host

kvers=("$work"/kernel/lib/modules/*)
if [ ${#kvers[@]} -ne 1 ]; then
  echo "build-linux-guest: expected one kernel, got: ${kvers[*]}" >&2
  exit 1
fi
kver=$(basename "${kvers[0]}")
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
mods=$work/kernel/lib/modules/$kver
# Debian's package does not ship modules.dep (its postinst runs depmod).
[ -f "$mods/modules.dep" ] || "$bb" depmod -b "$work/kernel" "$kver"

# Modules to load, dependencies first. Required: virtio PCI transport, disk,
# NIC; optional: e1000(e), for tests that use QEMU's default NIC model.
order=()
declare -A seen=()
add_module() { # $1: path relative to $mods as in modules.dep
  local m=$1 dep deps
  [ -z "${seen[$m]:-}" ] || return 0
  seen[$m]=1
  read -ra deps < <(awk -v m="$m:" '$1 == m { $1 = ""; print }' "$mods/modules.dep") || true
  for dep in "${deps[@]}"; do add_module "$dep"; done
  order+=("$m")
}
want_module() { # $1: module name, $2: required|optional
  local path
  if grep -Eq "/$1\.ko(\.[a-z]+)?$" "$mods/modules.builtin"; then
    echo "module $1 built-in" >>"$work/versions"
    return 0
  fi
  path=$(awk -F: -v re="/$1[.]ko([.][a-z]+)?$" '$1 ~ re { print $1; exit }' "$mods/modules.dep")
  if [ -n "$path" ]; then
    add_module "$path"
  elif [ "$2" = required ]; then
    echo "build-linux-guest: kernel $kver has no module $1" >&2
    exit 1
  else
    echo "module $1 absent" >>"$work/versions"
  fi
}
for m in virtio_pci virtio_blk virtio_net; do want_module "$m" required; done
for m in e1000 e1000e; do want_module "$m" optional; done

# The initramfs tree. Modules go in decompressed (the kernel here uses none,
# but later Debian kernels use .ko.xz): the kernel's own decompression needs
# finit_module with flags busybox insmod does not pass.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,lib/modules}
cp "$bb" "$root/bin/busybox"
for m in "${order[@]}"; do
  base=$(basename "$m")
  case "$m" in
    *.ko) cp "$mods/$m" "$root/lib/modules/$base" ;;
    *.ko.xz) "$bb" xz -dc "$mods/$m" >"$root/lib/modules/${base%.xz}" ;;
    *.ko.zst) zstd -qdc "$mods/$m" >"$root/lib/modules/${base%.zst}" ;; # busybox has no zstd
    *) echo "build-linux-guest: cannot handle module $m" >&2; exit 1 ;;
  esac
  base=${base%.xz}
  echo "${base%.zst}"
done >"$root/lib/modules/load-order"
echo "modules loaded: $(paste -sd' ' "$root/lib/modules/load-order")" >>"$work/versions"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# ferry test guest init; the contract is in tools/guest/build-linux-guest.sh.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm
mount -t tmpfs shm /dev/shm
while read -r m; do insmod "/lib/modules/$m"; done </lib/modules/load-order

id=$(cat /proc/sys/kernel/random/uuid)
echo "ferry-guest: boot $id"
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  echo "ferry-guest: mac $(cat /sys/class/net/eth0/address)"
fi
disk=
if [ -b /dev/vda ]; then
  disk=/dev/vda
  echo "ferry-guest: disk vda"
fi

# Dirty RAM for migrations: random, so QEMU cannot skip it as zero pages.
(while :; do
  dd if=/dev/urandom of=/dev/shm/churn bs=1M count=8 status=none
  sleep 0.2
done) &

record() { # $1: sector; writes $rec NUL-padded, then fsync
  printf '%s\n' "$rec" |
    dd of="$disk" bs=512 seek="$1" count=1 iflag=fullblock conv=sync,notrunc,fsync status=none
}
n=0
while :; do
  n=$((n + 1))
  if [ -n "$disk" ]; then
    rec="ferry-guest tick $n boot $id"
    record 0
    record $((1 + n % 1024))
  fi
  echo "ferry-guest: tick $n"
  sleep 0.5
done
EOF
chmod 755 "$root/init"

# newc cpio, gzip'ed, written by python3 (no cpio package needed). Every
# entry is root-owned with mtime 0, so the archive is reproducible.
python3 - "$root" "$work/initrd.img" <<'EOF'
import gzip, os, stat, sys

root, dest = sys.argv[1], sys.argv[2]
ino = 0

def entry(out, name, mode, data=b"", rdev=(0, 0)):
    global ino
    ino += 1
    name_b = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    out.write(b"070701" + b"".join(b"%08x" % f for f in fields) + name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(data + b"\0" * (-len(data) % 4))

with gzip.GzipFile(dest, "wb", mtime=0) as out:
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in [top] + [os.path.join(top, f) for f in sorted(files)]:
            rel = os.path.relpath(name, root)
            if rel == ".":
                continue
            st = os.lstat(name)
            if stat.S_ISDIR(st.st_mode):
                entry(out, rel, st.st_mode)
            elif stat.S_ISLNK(st.st_mode):
                entry(out, rel, st.st_mode, os.readlink(name).encode())
            else:
                with open(name, "rb") as f:
                    entry(out, rel, st.st_mode, f.read())
    # The kernel opens /dev/console for init before /dev is mounted.
    entry(out, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    entry(out, "TRAILER!!!", 0)
EOF

# quiet + no mitigations/KASLR: fewer console bytes and less work under TCG;
# panic=-1 reboots at once on a panic: with QEMU's -no-reboot, QEMU exits
# instead of hanging.
echo "console=ttyS0 panic=-1 quiet mitigations=off nokaslr" >"$work/cmdline"

rm -f "$out/stamp"
for f in vmlinuz initrd.img cmdline versions; do mv -f "$work/$f" "$out/$f"; done
echo "$hash" >"$work/stamp"
mv -f "$work/stamp" "$out/stamp"
