#!/usr/bin/env bash
# check-linux-guest.sh OUTDIR — smoke check of a guest built by
# build-linux-guest.sh: boot it under QEMU (TCG) with a virtio disk and NIC,
# wait for the console contract (boot, mac, disk vda, tick >= 5), stop QEMU,
# then check the raw disk holds the ticks (see the contract in
# build-linux-guest.sh). Prints one line: "ok: …" or the reason it failed.
# FERRY_GUEST_MEM (default 256M) sets the guest's RAM, to try smaller sizes.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mac=52:54:00:12:34:56
timeout_s=90
for f in vmlinuz initrd.img cmdline; do
  [ -f "$out/$f" ] || { echo "check-linux-guest: FAIL: no $out/$f (run build-linux-guest.sh)"; exit 1; }
done

tmp=$(mktemp -d)
qpid=
cleanup() {
  if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "check-linux-guest: FAIL: $*"
  exit 1
}

truncate -s 16M "$tmp/disk.raw"
: >"$tmp/console.log"
start=$(date +%s%N)
# -no-reboot: a guest panic (panic=-1 reboots) makes QEMU exit, not loop.
qemu-system-x86_64 -machine pc,accel=tcg -m "${FERRY_GUEST_MEM:-256M}" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$out/vmlinuz" -initrd "$out/initrd.img" -append "$(cat "$out/cmdline")" \
  -serial "file:$tmp/console.log" \
  -drive "file=$tmp/disk.raw,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0 \
  -netdev user,id=n0 -device "virtio-net-pci,netdev=n0,mac=$mac" \
  2>"$tmp/qemu.err" &
qpid=$!

# console: the serial log without the tty's carriage returns.
console() { tr -d '\r' <"$tmp/console.log"; }
last_tick() { console | sed -n 's/^ferry-guest: tick \([0-9]\{1,\}\)$/\1/p' | tail -n1; }
first_tick_ms=
while :; do
  now=$(date +%s%N)
  if [ -z "$first_tick_ms" ] && [ -n "$(last_tick)" ]; then
    first_tick_ms=$(((now - start) / 1000000))
  fi
  if [ "$(last_tick)" -ge 5 ] 2>/dev/null; then break; fi
  if ! kill -0 "$qpid" 2>/dev/null; then
    fail "QEMU exited early: $(head -c 300 "$tmp/qemu.err" | tr '\n' ' ') console: $(console | tail -n3 | tr '\n' '|')"
  fi
  if [ $(((now - start) / 1000000000)) -ge "$timeout_s" ]; then
    fail "no tick 5 within ${timeout_s}s; console ends: $(console | tail -n3 | tr '\n' '|')"
  fi
  sleep 0.2
done
kill "$qpid"
wait "$qpid" 2>/dev/null || true
qpid=

# The console contract.
boots=$(console | grep -c '^ferry-guest: boot ' || true)
[ "$boots" -eq 1 ] || fail "expected one 'ferry-guest: boot' line, saw $boots"
id=$(console | sed -n 's/^ferry-guest: boot \([0-9a-f-]\{36\}\)$/\1/p')
[ -n "$id" ] || fail "boot line has no UUID: $(console | grep '^ferry-guest: boot ')"
console | grep -qx "ferry-guest: mac $mac" || fail "no 'ferry-guest: mac $mac' line"
console | grep -qx 'ferry-guest: disk vda' || fail "no 'ferry-guest: disk vda' line"
seen=$(last_tick)

# The disk contract: sector 0 has the latest tick, written before its console
# line, so it is >= the last tick seen; the ring sector 1 + N % 1024 has N.
sector() { dd if="$tmp/disk.raw" bs=512 skip="$1" count=1 status=none | tr -d '\0'; }
rec=$(sector 0)
n=$(echo "$rec" | sed -n "s/^ferry-guest tick \([0-9]\{1,\}\) boot $id\$/\1/p")
[ -n "$n" ] || fail "sector 0 holds no tick of boot $id: '$rec'"
[ "$n" -ge 3 ] || fail "sector 0 holds tick $n, expected >= 3"
[ "$n" -ge "$seen" ] || fail "sector 0 holds tick $n, older than console tick $seen"
ring=$(sector $((1 + n % 1024)))
[ "$ring" = "$rec" ] || fail "ring sector $((1 + n % 1024)) holds '$ring', expected '$rec'"

echo "check-linux-guest: ok: boot $id, first tick after ${first_tick_ms} ms, console tick $seen, disk tick $n"
