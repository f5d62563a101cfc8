#!/usr/bin/env bash
# lab.sh OUT — the rack in a box. Two network namespaces of its own: the site's, whose
# dnsmasq hands out addresses only, and Warden's, with the machines' bridge, where `warden
# serve` answers ProxyDHCP, TFTP, boot HTTP and the HTTPS API on 10.213.0.1. QEMU machines
# (TCG, OVMF, swtpm TPM 2.0, virtio disk, no iPXE option ROM) boot the real path: PXE → TFTP
# ipxe.efi → HTTP script → the machine's Unified Kernel Image, whose agent attests and
# unlocks its disk. Writes OUT/summary.txt (one `name: value` per line) and every log; exit
# 0 when every scenario behaved. Needs root. Stops what it started, by process id, and
# deletes only the namespaces it created.
set -euo pipefail
OUT=${1:?usage: lab.sh OUT}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
WARDEN=${WARDEN:-$HERE/.build/debug/warden}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/summary.txt "$OUT"/*.log
WORK=$(mktemp -d)
NS=wlab$$
SITE=wsite$$
PIDS=()
T0=$EPOCHREALTIME

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$SITE" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

elapsed() { awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN {printf "%.1f", a - b}'; }
log() { echo "[$(elapsed) s] $*" | tee -a "$OUT/lab.log"; }
result() { echo "$1: $2" >> "$OUT/summary.txt"; log "$1: $2"; }
in_ns() { ip netns exec "$NS" "$@"; }
warden() { in_ns "$WARDEN" "$@" --warden-url https://10.213.0.1:8443 --state-dir "$WORK/state"; }

# --- the node image -------------------------------------------------------------------
log "building the node image"
bash "$HERE/Images/build-node-image.sh" "$WORK/node" > "$OUT/node-image.log" 2>&1

# --- the networks -------------------------------------------------------------------
ip netns add "$NS"
ip netns add "$SITE"
ip -n "$NS" link set lo up
ip -n "$SITE" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add 10.213.0.1/24 dev br0
ip -n "$NS" addr add fd00:213::1/64 dev br0 nodad
ip -n "$NS" link set br0 up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" link set tap0 master br0
ip -n "$NS" link set tap0 up
ip link add vsite netns "$SITE" type veth peer name vbr netns "$NS"
ip -n "$NS" link set vbr master br0
ip -n "$NS" link set vbr up
ip -n "$SITE" addr add 10.213.0.2/24 dev vsite
ip -n "$SITE" addr add fd00:213::2/64 dev vsite nodad
ip -n "$SITE" link set vsite up
# The site's DHCP server: addresses only, no boot options. The IPv6 router advertisement
# spares Debian's 2019 iPXE a 13 s wait for a router.
ip netns exec "$SITE" dnsmasq --conf-file=/dev/null --keep-in-foreground --no-resolv --no-hosts --port=0 \
    --bind-interfaces --interface=vsite --user=root --no-ping --log-dhcp \
    --dhcp-range=10.213.0.100,10.213.0.199,255.255.255.0,1h --enable-ra --dhcp-range=fd00:213::,ra-only,64,1h \
    --dhcp-leasefile="$WORK/site.leases" --log-facility="$OUT/site-dhcp.log" &
PIDS+=($!)

# --- Warden ---------------------------------------------------------------------------
# The TPM vendor CA whose EK certificates Warden accepts from machines that register
# themselves; machines nobody enrolled boot the discovery image, which registers them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Lab TPM Vendor/CN=Lab EK CA" \
    -keyout "$WORK/vendor.key" -out "$WORK/vendor.pem" -days 2 2> /dev/null
# Started directly, not through a shell function, so that $! is the server's own id.
ip netns exec "$NS" env WARDEN_API_HOST=10.213.0.1 WARDEN_SERVER_NAMES=10.213.0.1 WARDEN_BOOT_HOST=0.0.0.0 \
    WARDEN_BOOT_SERVER_ADDRESS=10.213.0.1 WARDEN_BOOT_HTTP_PORT=80 WARDEN_TFTP_PORT=69 WARDEN_PROXYDHCP_PORT=67 \
    WARDEN_PROXYDHCP_ALT_PORT=4011 WARDEN_FIRMWARE="$HERE/Firmware/firmware.yaml" \
    WARDEN_DISCOVERY_IMAGE=discovery WARDEN_TPM_VENDOR_CAS="$WORK/vendor.pem" \
    "$WARDEN" serve --state-dir "$WORK/state" > "$OUT/warden.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q "warden: serving" "$OUT/warden.log" 2>/dev/null && break; sleep 0.1; done
grep -q "warden: serving" "$OUT/warden.log" || { log "warden serve did not start"; exit 1; }
log "warden serve is up in namespace $NS"

# --- the operator's flow ----------------------------------------------------------------
printf 'K10%s::server:%s' "$(openssl rand -hex 32)" "$(openssl rand -hex 16)" > "$WORK/token"
warden cluster add lab --server https://10.213.0.10:6443 --token-file "$WORK/token" >> "$OUT/cli.log"
warden image add node --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1" >> "$OUT/cli.log"

# A machine: its TPM (state folder, EK read once over a loopback socket), MAC and disk.
# make_machine NAME [certified]: with `certified`, the lab's TPM vendor CA issues an EK
# certificate, written where vendors put it (NV index 0x01c00002), as for a machine that
# registers itself.
make_machine() {
    local name=$1 port tcti
    mkdir -p "$WORK/$name/tpm"
    swtpm_setup --tpm2 --tpmstate "$WORK/$name/tpm" --pcr-banks sha1,sha256 --createek --overwrite > "$WORK/$name/setup.log" 2>&1
    port=$((20000 + RANDOM % 10000))
    swtpm socket --tpm2 --tpmstate dir="$WORK/$name/tpm" --server type=tcp,port=$port,bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear &
    local swtpm=$!
    sleep 0.3
    tcti="swtpm:host=127.0.0.1,port=$port"
    tpm2_createek -T "$tcti" -c "$WORK/$name/ek.ctx" -G rsa -u "$WORK/$name/ek.pub" > /dev/null
    if [ "${2:-}" = certified ]; then
        tpm2_createek -T "$tcti" -c "$WORK/$name/ek-pem.ctx" -G rsa -u "$WORK/$name/ek.pem" -f pem > /dev/null
        openssl x509 -new -force_pubkey "$WORK/$name/ek.pem" -subj "/CN=$name EK" -CA "$WORK/vendor.pem" -CAkey "$WORK/vendor.key" \
            -days 1 -outform DER -out "$WORK/$name/ek.der" 2> /dev/null
        tpm2_nvdefine -T "$tcti" 0x01c00002 -C o -s "$(stat -c %s "$WORK/$name/ek.der")" -a "ownerread|ownerwrite|authread|authwrite|no_da" > /dev/null
        tpm2_nvwrite -T "$tcti" 0x01c00002 -C o -i "$WORK/$name/ek.der"
    fi
    kill "$swtpm"; wait "$swtpm" 2>/dev/null || true
    truncate -s 256M "$WORK/$name/disk.img"
    cat /proc/sys/kernel/random/uuid > "$WORK/$name/uuid"
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$WORK/$name/vars.fd"
}

# boot NAME SECONDS LOG [QEMU ARGS…]: runs the machine until it powers off or SECONDS pass;
# each serial line is kept with the seconds since QEMU started.
boot() {
    local name=$1 seconds=$2 serial=$3
    shift 3
    swtpm socket --tpm2 --tpmstate dir="$WORK/$name/tpm" --ctrl type=unixio,path="$WORK/$name/swtpm.sock" --flags not-need-init &
    local swtpm=$!
    sleep 0.3
    local start=$EPOCHREALTIME
    echo "$start" > "$OUT/$serial.start"
    set +e
    timeout "$seconds" ip netns exec "$NS" qemu-system-x86_64 -machine q35,accel=tcg -m 1536 -smp 1 -display none -no-reboot \
        -monitor none -serial stdio -uuid "$(cat "$WORK/$name/uuid")" \
        -chardev socket,id=chrtpm,path="$WORK/$name/swtpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
        -drive file="$WORK/$name/disk.img",if=virtio,format=raw \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no "$@" < /dev/null 2> "$OUT/$serial.qemu.log" |
        while IFS= read -r line; do
            printf '%6.1f %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN {print a - b}')" "$(printf '%s' "$line" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g')"
        done > "$OUT/$serial.log"
    set -e
    echo "$EPOCHREALTIME" > "$OUT/$serial.end"
    kill "$swtpm" 2>/dev/null || true
    wait "$swtpm" 2>/dev/null || true
}

# timeline LOG MACHINE: what Warden logged and recorded during that boot, in seconds after
# QEMU started: DHCP answers, TFTP transfers, scripts and files served (warden.log), then
# attestations with their verdicts and releases (the machine's record).
timeline() {
    local serial=$1 machine=$2 start end
    start=$(cat "$OUT/$serial.start")
    end=$(cat "$OUT/$serial.end")
    {
        sed -n 's/^warden: \[\([0-9.]*\)\] /\1 /p' "$OUT/warden.log"
        { warden machine show "$machine" --format json | tr -d '\n' | grep -o '"createdAt" : "[^"]*"[^}]*"passed" : [a-z]*' || true; } |
            while read -r record; do
                when=$(sed 's/.*"createdAt" : "\([^"]*\)".*/\1/' <<< "$record")
                verdict=$(sed 's/.*"passed" : //' <<< "$record")
                [ "$verdict" = true ] && what="attestation passed; key and join configuration released" || what="attestation refused"
                echo "$(date -d "$when" +%s.%N) warden: $what"
            done
    } | sort -n | awk -v s="$start" -v e="$end" '$1 >= s && $1 <= e { t = $1; $1 = ""; printf "  %6.1f s %s\n", t - s, $0 }'
}

uefi_pxe() { # the firmware arguments of a UEFI machine that network-boots with its own PXE
    echo -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
        -drive if=pflash,format=raw,file="$WORK/$1/vars.fd" -device virtio-net-pci,netdev=n0,mac="$2",romfile=
}

# The policy follows the machine's image: PCR 4 may load only the iPXE Warden serves, the
# image's UKI and its kernel; PCR 11 and 12 must hold what the UKI and its command line
# predict. Nothing about this machine is known yet, and nothing needs to be.
for policy in lab-node lab-image; do
    printf 'name: %s\neventLog: required\nimage: required\n' "$policy" > "$WORK/$policy.yaml"
    warden policy apply "$WORK/$policy.yaml" >> "$OUT/cli.log"
done
make_machine node-1
warden machine enroll node-1 --ek "$WORK/node-1/ek.pub" --mac 52:54:00:57:00:01 --cluster lab --role agent --image node \
    --policy lab-node >> "$OUT/cli.log"
log "node-1 enrolled (EK, MAC 52:54:00:57:00:01, cluster lab, image node, policy lab-node: follows the image)"

for round in 1 2; do
    if [ "$round" = 2 ]; then
        # Learn the firmware from the first boot, leaving PCR 4, 11 and 12 to the image;
        # then give node-1 a new image (another command line): the policy follows it.
        warden policy learn lab-node --machine node-1 --follow-image --out "$OUT/lab-node-learned.yaml" >> "$OUT/cli.log"
        warden policy apply "$OUT/lab-node-learned.yaml" >> "$OUT/cli.log"
        warden image add node-v2 --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
            --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1 warden.lab=2" >> "$OUT/cli.log"
        warden machine set-image node-1 node-v2 >> "$OUT/cli.log"
        log "policy lab-node learned from boot 1 (PCRs 0-3, 5-7 pinned, boot chain from the image); node-1 now boots image node-v2"
    fi
    log "node-1 boot $round"
    # shellcheck disable=SC2046
    boot node-1 240 "node-1-boot-$round" $(uefi_pxe node-1 52:54:00:57:00:01)
    line=$(grep -a "WARDEN-NODE: " "$OUT/node-1-boot-$round.log" | grep -v address | tail -1 || true)
    seconds=$(awk '/WARDEN-NODE: SUCCESS/ {print $1; exit}' "$OUT/node-1-boot-$round.log")
    if [[ "$line" == *"WARDEN-NODE: SUCCESS"* ]]; then result "node-1 boot $round" "success after ${seconds} s"; else result "node-1 boot $round" "FAILED (${line:-no node line})"; fi
    { echo "timeline of node-1 boot $round (seconds after QEMU started):"; timeline "node-1-boot-$round" node-1
      awk '/WARDEN-NODE: SUCCESS/ {printf "  %6.1f s node: %s\n", $1, substr($0, index($0, "WARDEN-NODE"))}' "$OUT/node-1-boot-$round.log"; } | tee -a "$OUT/lab.log"
done
result "releases to node-1" "$(warden machine show node-1 --format json | grep -o '"passed" : true' | wc -l) passing attestations"
if grep -q "^image: required" "$OUT/lab-node-learned.yaml" && ! grep -q "^    4: " "$OUT/lab-node-learned.yaml"; then
    result "learned policy" "PCRs 0-3 and 5-7 pinned, PCR 4, 11 and 12 follow the image (lab-node-learned.yaml)"
else
    result "learned policy" "FAILED (see lab-node-learned.yaml)"
fi

# A machine nobody enrolled: recorded as discovered by its MAC; it boots the discovery
# image, whose agent registers its EK (and vendor certificate), and is given nothing.
# The operator then adopts it — its boot sighting goes into the adopted record by MAC —
# and its next boot attests and unlocks.
warden image add discovery --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1 warden.mode=register" >> "$OUT/cli.log"
make_machine stranger certified
log "an unenrolled machine boots"
# shellcheck disable=SC2046
boot stranger 240 stranger-boot $(uefi_pxe stranger 52:54:00:57:00:02)
listed=$(warden machine list --format json)
registered_id=$(python3 -c 'import json, sys; print(next((str(m["id"]) for m in json.load(sys.stdin) if m["name"].startswith("discovered-") and m["hasEKCertificate"]), ""))' <<< "$listed")
if grep -q '"boot-525400570002"' <<< "$listed" && [ -n "$registered_id" ] && grep -q "WARDEN-NODE: registered" "$OUT/stranger-boot.log" \
    && ! grep -q "WARDEN-NODE: SUCCESS" "$OUT/stranger-boot.log"; then
    result "unenrolled machine" "recorded as discovered (boot-525400570002), booted the discovery image and registered its EK, nothing released"
else
    result "unenrolled machine" "FAILED (not recorded, not registered, or it unlocked something)"
fi
{ echo "timeline of the unenrolled machine's boot (seconds after QEMU started):"; timeline stranger-boot boot-525400570002; } | tee -a "$OUT/lab.log"
if [ -n "$registered_id" ] && warden machine enroll node-2 --discovered "$registered_id" --mac 52:54:00:57:00:02 --cluster lab --role agent \
    --image node-v2 --policy lab-image >> "$OUT/cli.log" 2>&1; then
    log "the operator adopted discovered machine $registered_id as node-2 (image node-v2, policy lab-image)"
    # shellcheck disable=SC2046
    boot stranger 240 node-2-boot $(uefi_pxe stranger 52:54:00:57:00:02)
    seconds=$(awk '/WARDEN-NODE: SUCCESS/ {print $1; exit}' "$OUT/node-2-boot.log")
    if [ -n "$seconds" ] && ! grep -q '"boot-525400570002"' <<< "$(warden machine list --format json)"; then
        result "adopted machine" "node-2 attested and unlocked its disk after ${seconds} s; its boot sighting was absorbed"
    else
        result "adopted machine" "FAILED ($(grep -a 'WARDEN-NODE: ' "$OUT/node-2-boot.log" | tail -1))"
    fi
    { echo "timeline of node-2's first boot (seconds after QEMU started):"; timeline node-2-boot node-2; } | tee -a "$OUT/lab.log"
else
    result "adopted machine" "FAILED (the registered machine could not be adopted; see cli.log)"
fi

# node-1 started with another kernel straight from QEMU (OVMF measures it into PCR 4 too),
# bypassing the boot server; its agent attests and must be refused.
warden image add rogue --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1 rogue=1" >> "$OUT/cli.log"
rogue=$(ls -t "$WORK"/state/images/*.efi | head -1)
log "node-1 boots another kernel, given straight to QEMU"
boot node-1 240 node-1-rogue -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$WORK/node-1/vars.fd" -device virtio-net-pci,netdev=n0,mac=52:54:00:57:00:01,romfile= -kernel "$rogue"
latest=$(warden machine show node-1 --format json | tr -d '\n' | grep -o '"attestations" : \[ *{[^}]*}' || true)
if grep -q "WARDEN-NODE: refused" "$OUT/node-1-rogue.log" && grep -q '"passed" : false' <<< "$latest" \
    && grep -q 'PCR 4 event [0-9]* (EV_EFI_BOOT_SERVICES_APPLICATION): found sha256' <<< "$latest"; then
    grep -o 'PCR 4 event [^;"]*' <<< "$latest" | head -1 > "$OUT/rogue-reason.txt"
    result "another kernel" "refused at attestation: $(cut -c1-120 "$OUT/rogue-reason.txt")…"
else
    result "another kernel" "FAILED ($(grep -a 'WARDEN-NODE: ' "$OUT/node-1-rogue.log" | tail -1))"
fi

# Legacy BIOS: SeaBIOS with QEMU's iPXE option ROM reaches Warden's script, boots the
# image's kernel and initrd (nothing measures them), attests, and is refused: its
# attestation is marked unmeasured, and policy lab-node does not allow unmeasured boots.
make_machine legacy
warden machine enroll legacy --ek "$WORK/legacy/ek.pub" --mac 52:54:00:57:00:03 --cluster lab --role agent --image node-v2 \
    --policy lab-node >> "$OUT/cli.log"
printf '\xf8\x03' > "$WORK/sercon-port"
log "a legacy BIOS machine boots"
boot legacy 240 legacy-boot -boot n -fw_cfg name=etc/sercon-port,file="$WORK/sercon-port" -device virtio-net-pci,netdev=n0,mac=52:54:00:57:00:03
legacy=$(warden machine show legacy)
if grep -q "WARDEN-NODE: refused" "$OUT/legacy-boot.log" && grep -q "refused (unmeasured)" <<< "$legacy" && grep -q "does not allow unmeasured boots" <<< "$legacy"; then
    result "legacy BIOS" "booted kernel and initrd from Warden's script; attestation marked unmeasured and refused"
else
    result "legacy BIOS" "FAILED ($(grep -a 'WARDEN-NODE: ' "$OUT/legacy-boot.log" | tail -1))"
fi
{ echo "timeline of the legacy boot (seconds after QEMU started):"; timeline legacy-boot legacy; } | tee -a "$OUT/lab.log"
log "done in $(elapsed) s"
! grep -q "FAILED" "$OUT/summary.txt"
