#!/usr/bin/env bash
# The demo behind `tools/run demo`: three agents on loopback with mutual TLS;
# a running guest that keeps writing its memory moves through all four
# migration processes; a table of what each took. Usage: demo.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
bin="$build/tools"
here=$(cd "$(dirname "$0")" && pwd)
guest="$build/drivers/qemu/guest/ferry-test-guest.bin"
# Real QEMU guests join the demo when QEMU and ferry's test guest are there.
drivers=(--driver test)
if command -v qemu-system-x86_64 >/dev/null && [ -r "$guest" ]; then
  drivers+=(--driver qemu)
fi
work=$(mktemp -d /tmp/ferry-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${FERRY_DEMO_KEEP:-}" ]; then
    echo "(demo files and agent logs kept in $work)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Throwaway certificates: a CA, three agents and an admin client"
"$bin/ferry-pki" "$work/pki" agent-a agent-b agent-c --client admin
cp "$work/pki/admin-cert.pem" "$work/pki/client-cert.pem"
cp "$work/pki/admin-key.pem" "$work/pki/client-key.pem"
export FERRY_PKI_DIR="$work/pki"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/testhv.secret"

base=$((20000 + RANDOM % 20000))
declare -A uri hv quri
i=0
for n in a b c; do
  port=$((base + 10 * i)); i=$((i + 1))
  "$bin/ferryd" --name "$n" --listen "127.0.0.1:$port" \
    --state-dir "$work/$n" --tls-cert "$work/pki/agent-$n-cert.pem" \
    --tls-key "$work/pki/agent-$n-key.pem" --tls-ca "$work/pki/ca-cert.pem" \
    --testhv-secret-file "$work/testhv.secret" "${drivers[@]}" \
    --acl admin=admin --acl 'agent-*=peer' \
    >"$work/$n.log" 2>&1 &
  pids+=($!)
  uri[$n]="ferry+tls://127.0.0.1:$port/test"
  quri[$n]="ferry+tls://127.0.0.1:$port/qemu"
  hv[$n]="testhv://127.0.0.1:$((port + 1))"
done
for n in a b c; do
  for _ in $(seq 100); do
    grep -q ' ready on port ' "$work/$n.log" && break
    sleep 0.1
  done
  grep -q ' ready on port ' "$work/$n.log" || { cat "$work/$n.log"; exit 1; }
done
say "Agents a, b, c serve (mutual TLS); agent a:"
"$bin/ferry" -c "${uri[a]}" nodeinfo

cat >"$work/web1.xml" <<XML
<domain type='test'>
  <name>web1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <workload dirty-rate='32' working-set='64'/>
</domain>
XML
say "Define and start web1 on a: 256 MiB of real guest RAM, dirtying 32 MiB/s"
"$bin/ferry" -c "${uri[a]}" define "$work/web1.xml"
"$bin/ferry" -c "${uri[a]}" start web1
"$bin/ferry" -c "${uri[a]}" list

say "Check the tunnel a -> b first: ferry -c ${uri[a]} netcheck --size 256 ${uri[b]}"
"$bin/ferry" -c "${uri[a]}" netcheck --size 256 "${uri[b]}"

# The last lines of DOM's console log on agent N (its first serial port).
console_tail() { # node domain lines
  tail -n "$3" "$work/$1/qemu/run/$2.serial.log" | tr -d '\r' | sed 's/^/   | /'
}

# A real Linux guest (Debian's cloud kernel, busybox; docs/testing.md) with
# a virtio disk, a NIC and a serial console moves a -> b -> c; its console
# shows it never rebooted.
linux_guest() {
  say "A real Linux guest: Debian's kernel and busybox, from apt-get download"
  if ! "$here/guest/build-linux-guest.sh" "$build/linux-guest" \
      >"$work/linux-guest.log" 2>&1; then
    say "Could not build the Linux guest (no Debian mirror?): see" \
      "$work/linux-guest.log; that part is left out"
    return 0
  fi
  truncate -s 4M "$work/deb.raw"
  cat >"$work/deb.xml" <<XML
<domain type='qemu'>
  <name>deb</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$build/linux-guest/vmlinuz</kernel>
    <initrd>$build/linux-guest/initrd.img</initrd>
    <cmdline>$(cat "$build/linux-guest/cmdline")</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='$work/deb.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
XML
  "$bin/ferry" -c "${quri[a]}" define "$work/deb.xml"
  "$bin/ferry" -c "${quri[a]}" start deb
  for _ in $(seq 300); do
    grep -qs 'tick 5' "$work/a/qemu/run/deb.serial.log" && break
    sleep 0.1
  done
  say "deb's console on a (STATE/qemu/run/deb.serial.log):"
  console_tail a deb 6
  migrate linux-mgd "${quri[a]}" --live deb "${quri[b]}"
  migrate linux-p2p "${quri[b]}" --live --p2p deb "${quri[c]}"
  sleep 2
  say "deb's console on c after two moves: the same boot, still counting"
  console_tail c deb 4
  printf '   boot lines on a, b, c: %s, %s, %s (one boot, on a)\n' \
    "$(grep -c 'ferry-guest: boot' "$work/a/qemu/run/deb.serial.log")" \
    "$(grep -c 'ferry-guest: boot' "$work/b/qemu/run/deb.serial.log")" \
    "$(grep -c 'ferry-guest: boot' "$work/c/qemu/run/deb.serial.log")"
  "$bin/ferry" -c "${quri[c]}" destroy deb
}

results=()
migrate() { # label source_uri migrate-args...
  local label=$1 src=$2; shift 2
  say "$label: ferry -c $src migrate $*"
  local out
  # Progress goes to stderr (a bar on a terminal), the JSON result to stdout.
  out=$("$bin/ferry" -c "$src" --json migrate --verbose "$@")
  field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$out" | tr -d '"'; }
  printf '%s\n' "$out"
  # QEMU's stream carries no end-to-end digest: nothing was compared.
  local digest=yes
  [ "$(field digest_verified)" = true ] || digest="no (QEMU stream)"
  results+=("$(printf '%-10s %9s %10s %9.1f   %s' "$label" "$(field total_ms)" \
    "$(field downtime_ms)" "$(field mibps)" "$digest")")
}
migrate managed "${uri[a]}" --live web1 "${uri[b]}"
migrate p2p "${uri[b]}" --live --p2p web1 "${uri[c]}"
migrate tunnelled "${uri[c]}" --live --p2p --tunnelled web1 "${uri[a]}"
migrate direct "${uri[a]}" --live --direct web1 "${hv[b]}"
sleep 0.3

say "The source's record of its last job: ferry -c ${uri[a]} domjobinfo --completed web1"
"$bin/ferry" -c "${uri[a]}" domjobinfo --completed web1

say "Where web1 is now"
for n in a b c; do
  printf -- '-- agent %s\n' "$n"
  "$bin/ferry" -c "${uri[$n]}" list --all
done

if [ ${#drivers[@]} -gt 2 ]; then
  cat >"$work/vm1.xml" <<XML
<domain type='qemu'>
  <name>vm1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><kernel>$guest</kernel></os>
  <workload working-set='32'/>
</domain>
XML
  say "A real QEMU guest: vm1, 256 MiB, ferry's test kernel rewriting 32 MiB"
  "$bin/ferry" -c "${quri[a]}" define "$work/vm1.xml"
  "$bin/ferry" -c "${quri[a]}" start vm1
  # The guest reports on its debug console once all its RAM is written.
  for _ in $(seq 300); do
    grep -qs 'RAM filled' "$work/a/qemu/run/vm1.console" && break
    sleep 0.1
  done
  migrate qemu-mgd "${quri[a]}" --live vm1 "${quri[b]}"
  migrate qemu-p2p "${quri[b]}" --live --p2p vm1 "${quri[c]}"
  migrate qemu-tun "${quri[c]}" --live --p2p --tunnelled vm1 "${quri[a]}"
  say "Where vm1 is now"
  for n in a b c; do
    printf -- '-- agent %s\n' "$n"
    "$bin/ferry" -c "${quri[$n]}" list --all
  done
  linux_guest
else
  say "QEMU or the test guest is missing: the QEMU part is left out"
fi

say "Summary"
printf '%-10s %9s %10s %9s   %s\n' process "total ms" "downtime ms" "MiB/s" \
  "digest verified"
printf '%s\n' "${results[@]}"
