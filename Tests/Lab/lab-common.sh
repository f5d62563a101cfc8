# lab-common.sh — what the labs (lab.sh, lab-ha.sh) share, sourced after they set OUT:
# the work folder and its clean-up, the log and summary, the demo node image, the rack's
# network (a bridge in namespace $RACK, the machines' tap, the site's DHCP server in $SITE),
# and QEMU machines with swtpm TPMs. Everything started goes into PIDS and is stopped by
# process id; only the namespaces in NAMESPACES, which the lab made (and named in
# OUT/namespaces.txt, for whoever checks that none is left), are deleted.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WARDEN=${WARDEN:-$HERE/.build/debug/warden}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/summary.txt "$OUT"/namespaces.txt "$OUT"/*.log
WORK=$(mktemp -d)
RACK=wlab$$
SITE=wsite$$
NAMESPACES=()
PIDS=()
T0=$EPOCHREALTIME

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for namespace in "${NAMESPACES[@]}"; do ip netns del "$namespace" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# forget ARRAY PID: takes a process the lab stopped and waited for out of ARRAY (PIDS, say),
# so that the clean-up never signals an id the system may have given to another process.
forget() {
    local -n list=$1
    local kept=() pid
    for pid in "${list[@]}"; do [ "$pid" = "$2" ] || kept+=("$pid"); done
    list=("${kept[@]}")
}

# boot_events LOG: the boot services' lines of a warden serve log (logfmt), one a line as
# "SECONDS-SINCE-EPOCH warden: SERVICE: MESSAGE", for the boot timelines.
boot_events() {
    python3 - "$1" <<'PY'
import datetime, re, sys
field = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
for line in open(sys.argv[1], errors="replace"):
    fields = {key: value[1:-1].replace('\\"', '"') if value.startswith('"') else value
              for key, value in field.findall(line)}
    if fields.get("component") in ("dhcp", "tftp", "http") and "time" in fields:
        when = datetime.datetime.fromisoformat(fields["time"].replace("Z", "+00:00")).timestamp()
        print("%.3f warden: %s: %s" % (when, fields["component"], fields.get("msg", "")))
PY
}
# includes PATTERN: whether standard input has a line matching PATTERN. It reads to the end,
# unlike grep -q, which leaves at the first match: under pipefail the writer of a longer input
# then fails on the closed pipe (Python's BrokenPipeError, tail's SIGPIPE) and so does the test.
includes() { grep -c -- "$1" > /dev/null; }
elapsed() { awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN {printf "%.1f", a - b}'; }
log() { echo "[$(elapsed) s] $*" | tee -a "$OUT/lab.log"; }
result() { echo "$1: $2" >> "$OUT/summary.txt"; log "$1: $2"; }

# build_node_image: the demo node (Debian's kernel, busybox, cryptsetup) into $WORK/node.
build_node_image() {
    log "building the node image"
    bash "$HERE/Images/build-node-image.sh" "$WORK/node" > "$OUT/node-image.log" 2>&1
}

# new_namespace NAME: a network namespace of the lab's own, deleted at the end.
new_namespace() {
    ip netns add "$1"
    NAMESPACES+=("$1")
    echo "$1" >> "$OUT/namespaces.txt"
}

# rack_network: namespace $RACK with the machines' bridge br0 (no address of its own) and
# their tap0, and namespace $SITE on it at 10.213.0.2, whose dnsmasq hands out addresses
# only, no boot options. The IPv6 router advertisement spares Debian's 2019 iPXE a 13 s
# wait for a router.
rack_network() {
    new_namespace "$RACK"
    new_namespace "$SITE"
    ip -n "$RACK" link set lo up
    ip -n "$SITE" link set lo up
    ip -n "$RACK" link add br0 type bridge
    ip -n "$RACK" link set br0 up
    ip -n "$RACK" tuntap add dev tap0 mode tap
    ip -n "$RACK" link set tap0 master br0
    ip -n "$RACK" link set tap0 up
    ip link add vsite netns "$SITE" type veth peer name vbr netns "$RACK"
    ip -n "$RACK" link set vbr master br0
    ip -n "$RACK" link set vbr up
    ip -n "$SITE" addr add 10.213.0.2/24 dev vsite
    ip -n "$SITE" addr add fd00:213::2/64 dev vsite nodad
    ip -n "$SITE" link set vsite up
    ip netns exec "$SITE" dnsmasq --conf-file=/dev/null --keep-in-foreground --no-resolv --no-hosts --port=0 \
        --bind-interfaces --interface=vsite --user=root --no-ping --log-dhcp \
        --dhcp-range=10.213.0.100,10.213.0.199,255.255.255.0,1h --enable-ra --dhcp-range=fd00:213::,ra-only,64,1h \
        --dhcp-leasefile="$WORK/site.leases" --pid-file="$WORK/site.pid" --log-facility="$OUT/site-dhcp.log" &
    PIDS+=($!)
}

# attach NAMESPACE INTERFACE ADDRESS/PREFIX…: a namespace of the lab's own on the rack's
# bridge, through a veth pair, with the addresses given.
attach() {
    local namespace=$1 interface=$2
    shift 2
    new_namespace "$namespace"
    ip -n "$namespace" link set lo up
    ip link add "$interface" netns "$namespace" type veth peer name "b$interface" netns "$RACK"
    ip -n "$RACK" link set "b$interface" master br0
    ip -n "$RACK" link set "b$interface" up
    for address in "$@"; do ip -n "$namespace" addr add "$address" dev "$interface"; done
    ip -n "$namespace" link set "$interface" up
}

# A machine: its TPM (state folder, EK read once over a socket on the rack namespace's own
# loopback, which nothing else on this machine shares), MAC and disk.
# make_machine NAME [certified]: with `certified`, the lab's TPM vendor CA ($WORK/vendor.pem
# and .key) issues an EK certificate, written where vendors put it (NV index 0x01c00002),
# as for a machine that registers itself.
make_machine() {
    local name=$1 tcti="swtpm:host=127.0.0.1,port=2321"
    local rack=(ip netns exec "$RACK")
    mkdir -p "$WORK/$name/tpm"
    swtpm_setup --tpm2 --tpmstate "$WORK/$name/tpm" --pcr-banks sha1,sha256 --createek --overwrite > "$WORK/$name/setup.log" 2>&1
    "${rack[@]}" swtpm socket --tpm2 --tpmstate dir="$WORK/$name/tpm" --server type=tcp,port=2321,bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=2322,bindaddr=127.0.0.1 --flags not-need-init,startup-clear &
    local swtpm=$!
    PIDS+=("$swtpm")
    sleep 0.3
    kill -0 "$swtpm" 2>/dev/null || { log "the software TPM of $name did not start"; exit 1; }
    "${rack[@]}" tpm2_createek -T "$tcti" -c "$WORK/$name/ek.ctx" -G rsa -u "$WORK/$name/ek.pub" > /dev/null
    if [ "${2:-}" = certified ]; then
        "${rack[@]}" tpm2_createek -T "$tcti" -c "$WORK/$name/ek-pem.ctx" -G rsa -u "$WORK/$name/ek.pem" -f pem > /dev/null
        openssl x509 -new -force_pubkey "$WORK/$name/ek.pem" -subj "/CN=$name EK" -CA "$WORK/vendor.pem" -CAkey "$WORK/vendor.key" \
            -days 1 -outform DER -out "$WORK/$name/ek.der" 2> /dev/null
        "${rack[@]}" tpm2_nvdefine -T "$tcti" 0x01c00002 -C o -s "$(stat -c %s "$WORK/$name/ek.der")" \
            -a "ownerread|ownerwrite|authread|authwrite|no_da" > /dev/null
        "${rack[@]}" tpm2_nvwrite -T "$tcti" 0x01c00002 -C o -i "$WORK/$name/ek.der"
    fi
    kill "$swtpm"; wait "$swtpm" 2>/dev/null || true
    forget PIDS "$swtpm"
    truncate -s 256M "$WORK/$name/disk.img"
    cat /proc/sys/kernel/random/uuid > "$WORK/$name/uuid"
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$WORK/$name/vars.fd"
}

# boot NAME SECONDS LOG [QEMU ARGS…]: runs the machine on the rack's tap0 until it powers
# off or SECONDS pass; each serial line is kept with the seconds since QEMU started. With
# BOOT_UNTIL set (an extended regular expression), the machine is also stopped, by its
# process id, once a line matches it: a boot the firmware refuses never powers off, so its
# SECONDS can be generous for a loaded machine and still cost nothing when it works. It is
# killed outright: a SIGTERM sent as the firmware refused an image left QEMU hung in its
# own shutdown for minutes, through timeout's SIGTERM too, which is why timeout now follows
# its SIGTERM with a SIGKILL.
boot() {
    local name=$1 seconds=$2 serial=$3
    shift 3
    swtpm socket --tpm2 --tpmstate dir="$WORK/$name/tpm" --ctrl type=unixio,path="$WORK/$name/swtpm.sock" --flags not-need-init &
    local swtpm=$!
    PIDS+=("$swtpm")
    sleep 0.3
    local start=$EPOCHREALTIME
    echo "$start" > "$OUT/$serial.start"
    set +e
    local pidfile="$WORK/$name/qemu.pid"
    rm -f "$pidfile"
    # The group keeps the shell's "Killed" notice of a machine stopped on BOOT_UNTIL out of the output.
    { timeout -k 10 "$seconds" ip netns exec "$RACK" qemu-system-x86_64 -machine q35,accel=tcg -m 1536 -smp 1 -display none -no-reboot \
        -monitor none -serial stdio -pidfile "$pidfile" -uuid "$(cat "$WORK/$name/uuid")" \
        -chardev socket,id=chrtpm,path="$WORK/$name/swtpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
        -drive file="$WORK/$name/disk.img",if=virtio,format=raw \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no "$@" < /dev/null 2> "$OUT/$serial.qemu.log" || true; } 2> /dev/null |
        while IFS= read -r line; do
            line=$(printf '%s' "$line" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g')
            printf '%6.1f %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN {print a - b}')" "$line"
            # Once: the pidfile goes with the kill, so no later line kills a reused pid.
            if [ -n "${BOOT_UNTIL:-}" ] && [[ $line =~ $BOOT_UNTIL ]] && [ -s "$pidfile" ]; then
                kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
                rm -f "$pidfile"
            fi
        done > "$OUT/$serial.log"
    set -e
    echo "$EPOCHREALTIME" > "$OUT/$serial.end"
    kill "$swtpm" 2>/dev/null || true
    wait "$swtpm" 2>/dev/null || true
    forget PIDS "$swtpm"
}

# secure_boot_tools: PyPI's virt-firmware (virt-fw-vars), installed once into a virtual
# environment under .build (left out of git) and kept for later runs.
VIRT_FW_VARS=$HERE/.build/lab-venv/bin/virt-fw-vars
secure_boot_tools() {
    [ -x "$VIRT_FW_VARS" ] && return
    log "installing virt-firmware from PyPI into .build/lab-venv"
    python3 -m venv "$HERE/.build/lab-venv"
    "$HERE/.build/lab-venv/bin/pip" install --quiet --disable-pip-version-check virt-firmware > "$OUT/virt-firmware.log" 2>&1 ||
        { log "cannot install virt-firmware from PyPI (see virt-firmware.log)"; exit 1; }
}

# enrol_keys NAME KEYS: machine NAME's variable store, from a fresh copy of OVMF's, holds
# the PK, KEK and db certificates of the folder KEYS (pk.pem, kek.pem, db.pem: Warden's
# STATE/secureboot) under Warden's owner GUID, so its firmware enforces Secure Boot.
enrol_keys() {
    local owner=57617264-656e-4b65-7973-000000000001
    "$VIRT_FW_VARS" --input /usr/share/OVMF/OVMF_VARS_4M.fd --output "$WORK/$1/vars.fd" --set-pk "$owner" "$2/pk.pem"         --add-kek "$owner" "$2/kek.pem" --add-db "$owner" "$2/db.pem" --secure-boot >> "$OUT/virt-fw-vars.log" 2>&1
}

uefi_secure_pxe() { # uefi_pxe with OVMF's Secure Boot build: SMM and a secure pflash
    echo -machine smm=on -global driver=cfi.pflash01,property=secure,value=on \
        -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
        -drive if=pflash,format=raw,file="$WORK/$1/vars.fd" -device virtio-net-pci,netdev=n0,mac="$2",romfile=
}

# unlocked_after SERIAL: the seconds after QEMU started at which that boot's node said it
# unlocked its disk; empty when it did not. node_said SERIAL: the node's last WARDEN-NODE line.
unlocked_after() { awk '/WARDEN-NODE: SUCCESS/ {print $1; exit}' "$OUT/$1.log"; }
node_said() { grep -a 'WARDEN-NODE: ' "$OUT/$1.log" | tail -1; }

uefi_pxe() { # the firmware arguments of a UEFI machine that network-boots with its own PXE
    echo -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
        -drive if=pflash,format=raw,file="$WORK/$1/vars.fd" -device virtio-net-pci,netdev=n0,mac="$2",romfile=
}
