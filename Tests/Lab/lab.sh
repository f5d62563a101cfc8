#!/usr/bin/env bash
# lab.sh OUT — the rack in a box. Two network namespaces of its own: the site's, whose
# dnsmasq hands out addresses only, and Warden's, with the machines' bridge, where `warden
# serve` answers ProxyDHCP, TFTP, boot HTTP and the HTTPS API on 10.213.0.1. QEMU machines
# (TCG, OVMF, swtpm TPM 2.0, virtio disk, no iPXE option ROM) boot the real path: PXE → TFTP
# ipxe.efi → HTTP script → the machine's Unified Kernel Image, whose agent attests and
# unlocks its disk. node-1 runs OVMF's Secure Boot build (SMM, secure pflash) with the
# rack's keys, which `warden secureboot init` made and PyPI's virt-fw-vars wrote into its
# variable store: its firmware starts only what Warden signed. Writes OUT/summary.txt (one `name: value` per line) and every log; exit
# 0 when every scenario behaved. Needs root. Stops what it started, by process id, and
# deletes only the namespaces it created.
set -euo pipefail
OUT=${1:?usage: lab.sh OUT}
# shellcheck source=lab-common.sh
source "$(dirname "$0")/lab-common.sh"

in_ns() { ip netns exec "$RACK" "$@"; }
# warden_at STATE ARGS…: the CLI as the operator of the appliance whose state folder is STATE.
warden_at() { local state=$1; shift; in_ns "$WARDEN" "$@" --warden-url https://10.213.0.1:8443 --state-dir "$state"; }
warden() { warden_at "$WORK/state" "$@"; }

build_node_image
rack_network
secure_boot_tools
# Warden's address is on the machines' bridge itself.
ip -n "$RACK" addr add 10.213.0.1/24 dev br0
ip -n "$RACK" addr add fd00:213::1/64 dev br0 nodad

# --- Warden ---------------------------------------------------------------------------
# The TPM vendor CA whose EK certificates Warden accepts from machines that register
# themselves; machines nobody enrolled boot the discovery image, which registers them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Lab TPM Vendor/CN=Lab EK CA" \
    -keyout "$WORK/vendor.key" -out "$WORK/vendor.pem" -days 2 2> /dev/null
# The rack's Secure Boot keys, made before the first start (which initialises the state
# folder as serve would): Warden signs its iPXE builds and every image with the db key.
WARDEN_SERVER_NAMES=10.213.0.1 "$WARDEN" secureboot init --state-dir "$WORK/state" > "$OUT/secureboot-keys.txt"
log "Secure Boot keys: $(cut -f1,2 "$OUT/secureboot-keys.txt" | tr '\t\n' ' ;')"
# serve STATE LOG [SETTING=VALUE…]: `warden serve` on the rack's addresses, from the state
# folder STATE, with any further settings; its process id is left in SERVER (and PIDS).
serve() {
    local state=$1 log=$2 before
    shift 2
    # A log written before holds an earlier start's line: only the lines after count.
    before=0
    [ -e "$log" ] && before=$(wc -l < "$log")
    # The further settings last: env takes the last of two assignments.
    ip netns exec "$RACK" env WARDEN_API_HOST=10.213.0.1 WARDEN_SERVER_NAMES=10.213.0.1 WARDEN_BOOT_HOST=0.0.0.0 \
        WARDEN_BOOT_SERVER_ADDRESS=10.213.0.1 WARDEN_BOOT_HTTP_PORT=80 WARDEN_TFTP_PORT=69 WARDEN_PROXYDHCP_PORT=67 \
        WARDEN_PROXYDHCP_ALT_PORT=4011 WARDEN_FIRMWARE="$HERE/Firmware/firmware.yaml" \
        WARDEN_DISCOVERY_IMAGE=discovery WARDEN_TPM_VENDOR_CAS="$WORK/vendor.pem" "$@" \
        "$WARDEN" serve --state-dir "$state" >> "$log" 2>&1 &
    SERVER=$!
    PIDS+=("$SERVER")
    for _ in $(seq 100); do tail -n +$((before + 1)) "$log" | includes "msg=\"serving https://" && break; sleep 0.1; done
    tail -n +$((before + 1)) "$log" | includes "msg=\"serving https://" || { log "warden serve did not start"; exit 1; }
}
stop_serving() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; forget PIDS "$SERVER"; }
serve "$WORK/state" "$OUT/warden.log"
log "warden serve is up in namespace $RACK"

# --- the operator's flow ----------------------------------------------------------------
printf 'K10%s::server:%s' "$(openssl rand -hex 32)" "$(openssl rand -hex 16)" > "$WORK/token"
warden cluster add lab --k3s-server https://10.213.0.10:6443 --token-file "$WORK/token" >> "$OUT/cli.log"
warden image add node --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1" >> "$OUT/cli.log"

# timeline LOG MACHINE: what Warden logged and recorded during that boot, in seconds after
# QEMU started: DHCP answers, TFTP transfers, scripts and files served (warden.log), then
# attestations with their verdicts and releases (the machine's record).
timeline() {
    local serial=$1 machine=$2 start end
    start=$(cat "$OUT/$serial.start")
    end=$(cat "$OUT/$serial.end")
    {
        boot_events "$OUT/warden.log"
        { warden machine show "$machine" --format json | tr -d '\n' | grep -o '"createdAt" : "[^"]*"[^}]*"passed" : [a-z]*' || true; } |
            while read -r record; do
                when=$(sed 's/.*"createdAt" : "\([^"]*\)".*/\1/' <<< "$record")
                verdict=$(sed 's/.*"passed" : //' <<< "$record")
                [ "$verdict" = true ] && what="attestation passed; key and join configuration released" || what="attestation refused"
                echo "$(date -d "$when" +%s.%N) warden: $what"
            done
    } | sort -n | awk -v s="$start" -v e="$end" '$1 >= s && $1 <= e { t = $1; $1 = ""; printf "  %6.1f s %s\n", t - s, $0 }'
}

# The policy follows the machine's image: PCR 4 may load only the iPXE Warden serves, the
# image's UKI and its kernel; PCR 11 and 12 must hold what the UKI and its command line
# predict. Nothing about this machine is known yet, and nothing needs to be.
# node-1's firmware holds the rack's keys and enforces Secure Boot, and its policy predicts
# its PCR 7 from them (`secureBootKeys: rack`): PK, KEK and db as enrolled, images signed by db.
for policy in lab-node lab-image; do
    printf 'name: %s\neventLog: required\nimage: required\n' "$policy" > "$WORK/$policy.yaml"
    [ "$policy" = lab-node ] && echo "secureBootKeys: rack" >> "$WORK/$policy.yaml"
    warden policy apply "$WORK/$policy.yaml" >> "$OUT/cli.log"
done
make_machine node-1
enrol_keys node-1 "$WORK/state/secureboot"
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
    boot node-1 300 "node-1-boot-$round" $(uefi_secure_pxe node-1 52:54:00:57:00:01)
    line=$(grep -a "WARDEN-NODE: " "$OUT/node-1-boot-$round.log" | grep -v address | tail -1 || true)
    seconds=$(unlocked_after node-1-boot-$round)
    if [[ "$line" == *"WARDEN-NODE: SUCCESS"* ]]; then result "node-1 boot $round" "success after ${seconds} s, Secure Boot on"; else result "node-1 boot $round" "FAILED (${line:-no node line})"; fi
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
    seconds=$(unlocked_after node-2-boot)
    if [ -n "$seconds" ] && ! grep -q '"boot-525400570002"' <<< "$(warden machine list --format json)"; then
        result "adopted machine" "node-2 attested and unlocked its disk after ${seconds} s; its boot sighting was absorbed"
    else
        result "adopted machine" "FAILED ($(node_said node-2-boot))"
    fi
    { echo "timeline of node-2's first boot (seconds after QEMU started):"; timeline node-2-boot node-2; } | tee -a "$OUT/lab.log"
else
    result "adopted machine" "FAILED (the registered machine could not be adopted; see cli.log)"
fi

# Secure Boot off, under a policy that requires it: node-2's firmware (OVMF without Secure
# Boot) boots the same path as before, and its attestation is refused with the reason named.
printf 'name: lab-image\neventLog: required\nimage: required\nsecureBoot: required\n' > "$WORK/lab-image.yaml"
warden policy apply "$WORK/lab-image.yaml" >> "$OUT/cli.log"
log "policy lab-image now requires Secure Boot; node-2 boots with it off"
# shellcheck disable=SC2046
boot stranger 240 node-2-secure-boot-off $(uefi_pxe stranger 52:54:00:57:00:02)
if grep -q "WARDEN-NODE: refused" "$OUT/node-2-secure-boot-off.log" \
    && grep -q "the measured boot shows Secure Boot disabled" <<< "$(warden machine show node-2)"; then
    result "Secure Boot off" "node-2 refused at attestation: the measured boot shows Secure Boot disabled"
else
    result "Secure Boot off" "FAILED ($(node_said node-2-secure-boot-off))"
fi
on=$(unlocked_after node-1-boot-1)
off=$(unlocked_after node-2-boot)
result "boot times" "to an unlocked disk: ${on:-?} s with Secure Boot on (OVMF secboot, SMM), ${off:-?} s with it off (TCG)"

# Debian's unsigned iPXE: an appliance without the rack's keys (a state folder of its own)
# serves it as it is; node-1's firmware, enforcing the rack's db, refuses to start it, so
# that appliance sees the firmware fetch it over TFTP and no script. The machine is stopped
# at that first refusal (PXE over IPv4); its later boot options would be refused alike.
stop_serving
serve "$WORK/keyless" "$OUT/warden-keyless.log"
log "node-1 boots from an appliance without the rack's Secure Boot keys"
# shellcheck disable=SC2046
BOOT_UNTIL="Access Denied" boot node-1 240 node-1-unsigned-ipxe $(uefi_secure_pxe node-1 52:54:00:57:00:01)
transfers=$(boot_events "$OUT/warden-keyless.log" | grep -c "warden: tftp: " || true)
if grep -q "Access Denied" "$OUT/node-1-unsigned-ipxe.log" && [ "$transfers" -gt 0 ] \
    && ! boot_events "$OUT/warden-keyless.log" | includes "warden: http: script for"; then
    result "unsigned iPXE" "the firmware refused it ($(grep -a -o 'Boot[0-9]* "UEFI PXEv4[^"]*"' "$OUT/node-1-unsigned-ipxe.log" | head -1): Access Denied); the appliance saw only ipxe.efi fetched, no script"
else
    result "unsigned iPXE" "FAILED (no Access Denied on node-1's console, or iPXE asked for a script)"
fi

# A UKI the rack's db did not sign: appliances of other state folders serve the rack's
# signed iPXE (their manifest names the rack's TFTP copy), which node-1's firmware starts,
# and node-1's image unsigned (no Secure Boot keys) or signed by another rack's db key.
# iPXE hands the UKI to the firmware, which refuses it; each appliance logged the script it
# served and recorded no attestation.
printf 'files:\n  ipxe.efi: %s\n' "$WORK/state/tftp/ipxe.efi" > "$WORK/rack-ipxe.yaml"
WARDEN_SERVER_NAMES=10.213.0.1 "$WARDEN" secureboot init --state-dir "$WORK/other-rack" > /dev/null
for appliance in keyless other-rack; do
    stop_serving
    serve "$WORK/$appliance" "$OUT/warden-$appliance.log" WARDEN_FIRMWARE="$WORK/rack-ipxe.yaml"
    warden_at "$WORK/$appliance" cluster add lab --k3s-server https://10.213.0.10:6443 --token-file "$WORK/token" >> "$OUT/cli.log"
    warden_at "$WORK/$appliance" image add node --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
        --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1" >> "$OUT/cli.log"
    warden_at "$WORK/$appliance" machine enroll node-1 --ek "$WORK/node-1/ek.pub" --mac 52:54:00:57:00:01 --cluster lab \
        --role agent --image node >> "$OUT/cli.log"
    what=$([ "$appliance" = keyless ] && echo "an unsigned UKI" || echo "a UKI signed by another rack's db key")
    log "node-1 boots $what"
    # shellcheck disable=SC2046
    BOOT_UNTIL="No more network devices" boot node-1 240 "node-1-$appliance-uki" $(uefi_secure_pxe node-1 52:54:00:57:00:01)
    said=$(grep -a -m1 "Could not boot" "$OUT/node-1-$appliance-uki.log" | cut -c8- || true)
    recorded=$(warden_at "$WORK/$appliance" machine show node-1 --format json | grep -c '"passed"' || true)
    if [ -n "$said" ] && boot_events "$OUT/warden-$appliance.log" | includes "http: script for 52:54:00:57:00:01" \
        && [ "$recorded" = 0 ]; then
        result "$what" "refused by the firmware (iPXE: $said); that appliance served the script, recorded no attestation"
    else
        result "$what" "FAILED (no refusal on node-1's console, no script served, or an attestation recorded)"
    fi
done
stop_serving
serve "$WORK/state" "$OUT/warden.log"

# node-1 started with another kernel straight from QEMU (OVMF measures it into PCR 4 too),
# bypassing the boot server: Warden signed it (image rogue), so the firmware starts it, and
# its agent attests and must be refused.
warden image add rogue --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1 rogue=1" >> "$OUT/cli.log"
signed=$(warden image show rogue --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["secureBootSigned"]["sha256"])')
log "node-1 boots another kernel, signed by the rack's db key, given straight to QEMU"
# shellcheck disable=SC2046
boot node-1 300 node-1-rogue $(uefi_secure_pxe node-1 52:54:00:57:00:01) -kernel "$WORK/state/images/$signed.efi"
latest=$(warden machine show node-1 --format json | tr -d '\n' | grep -o '"attestations" : \[ *{[^}]*}' || true)
if grep -q "WARDEN-NODE: refused" "$OUT/node-1-rogue.log" && grep -q '"passed" : false' <<< "$latest" \
    && grep -q 'PCR 4 event [0-9]* (EV_EFI_BOOT_SERVICES_APPLICATION): found sha256' <<< "$latest"; then
    grep -o 'PCR 4 event [^;"]*' <<< "$latest" | head -1 > "$OUT/rogue-reason.txt"
    result "another kernel" "refused at attestation: $(cut -c1-120 "$OUT/rogue-reason.txt")…"
else
    result "another kernel" "FAILED ($(node_said node-1-rogue))"
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
    result "legacy BIOS" "FAILED ($(node_said legacy-boot))"
fi
{ echo "timeline of the legacy boot (seconds after QEMU started):"; timeline legacy-boot legacy; } | tee -a "$OUT/lab.log"

# Enrolment from the network: node-3's firmware is OVMF's Secure Boot build with an
# unmodified variable store, so in setup mode. With enrolment on, a machine nobody enrolled
# boots the enrolment image, whose agent writes the rack's db, KEK and PK from Warden's
# signed updates and reboots. The keys are read back from its variable store; the operator
# adopts it under a policy written before it ever attested (PCR 7 predicted from the rack's
# keys, nothing learned), and its next boot, Secure Boot on, attests and unlocks.
warden image add enrol --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --cmdline "console=ttyS0,115200 panic=-1 warden.mode=enrol" >> "$OUT/cli.log"
printf 'name: lab-enrolled\neventLog: required\nimage: required\nsecureBootKeys: rack\n' > "$WORK/lab-enrolled.yaml"
warden policy apply "$WORK/lab-enrolled.yaml" >> "$OUT/cli.log"
stop_serving
serve "$WORK/state" "$OUT/warden.log" WARDEN_SECURE_BOOT_ENROLMENT_IMAGE=enrol
make_machine node-3 certified
log "node-3, in setup mode, boots with Secure Boot enrolment on"
# shellcheck disable=SC2046
boot node-3 240 node-3-enrol $(uefi_secure_pxe node-3 52:54:00:57:00:04)
mkdir -p "$WORK/node-3/read-back"
(cd "$WORK/node-3/read-back" && "$VIRT_FW_VARS" -i "$WORK/node-3/vars.fd" --extract-certs >> "$OUT/virt-fw-vars.log" 2>&1)
matching=0
for variable in PK KEK db; do
    expected=$(awk -v v="$variable" '$1 == v {print $2; exit}' "$OUT/secureboot-keys.txt")
    for certificate in "$WORK/node-3/read-back/$variable"-*.pem; do
        [ -e "$certificate" ] || continue
        found=$(openssl x509 -in "$certificate" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
        [ "$found" = "$expected" ] && matching=$((matching + 1))
    done
done
enrolled_id=$(warden machine list --format json | python3 -c 'import json, sys; print(next((str(m["id"]) for m in json.load(sys.stdin) if m.get("secureBootEnrolledAt")), ""))')
if grep -q "WARDEN-NODE: enrolled" "$OUT/node-3-enrol.log" && [ "$matching" = 3 ] && [ -n "$enrolled_id" ]; then
    result "Secure Boot enrolment" "node-3 in setup mode was sent the rack's keys, wrote them and rebooted; virt-fw-vars reads back PK, KEK and db as Warden's certificates; recorded as enrolled by Warden (machine $enrolled_id)"
else
    result "Secure Boot enrolment" "FAILED ($(grep -a 'WARDEN-NODE: \|warden-agent: ' "$OUT/node-3-enrol.log" | tail -1); $matching of 3 certificates read back)"
fi
{ echo "timeline of node-3's enrolment boot (seconds after QEMU started):"; timeline node-3-enrol boot-525400570004; } | tee -a "$OUT/lab.log"
if [ -n "$enrolled_id" ] && warden machine enroll node-3 --discovered "$enrolled_id" --mac 52:54:00:57:00:04 --cluster lab --role agent \
    --image node-v2 --policy lab-enrolled >> "$OUT/cli.log" 2>&1; then
    log "the operator adopted machine $enrolled_id as node-3 (image node-v2, policy lab-enrolled: PCR 7 predicted)"
    # shellcheck disable=SC2046
    boot node-3 300 node-3-boot $(uefi_secure_pxe node-3 52:54:00:57:00:04)
    seconds=$(unlocked_after node-3-boot)
    if [ -n "$seconds" ] && grep -q "enrolled by Warden" <<< "$(warden machine show node-3)"; then
        result "enrolled machine" "node-3 attested with Secure Boot on under the rack's keys and unlocked its disk after ${seconds} s, PCR 7 predicted, nothing learned"
    else
        result "enrolled machine" "FAILED ($(node_said node-3-boot))"
    fi
    { echo "timeline of node-3's first boot under its keys (seconds after QEMU started):"; timeline node-3-boot node-3; } | tee -a "$OUT/lab.log"
else
    result "enrolled machine" "FAILED (node-3 could not be adopted; see cli.log)"
fi
log "done in $(elapsed) s"
! grep -q "FAILED" "$OUT/summary.txt"
