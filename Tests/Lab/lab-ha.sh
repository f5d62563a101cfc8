#!/usr/bin/env bash
# lab-ha.sh OUT — no single point of failure. Namespaces of the lab's own on the machines'
# bridge: a PostgreSQL primary (10.213.0.21) with a synchronous streaming standby
# (10.213.0.22), both over TLS that Warden checks (verify-full); appliances A (10.213.0.1)
# and B (10.213.0.3), each a `warden serve` answering ProxyDHCP, TFTP, boot HTTP and the
# HTTPS API, sharing that database; the site's DHCP server; the load's machines. node-1
# (QEMU, OVMF, swtpm) boots and unlocks through whichever appliance answers; a third
# appliance, C, is removed, and when A is killed and its address answers with C's
# certificate, node-1 refuses it (the list its first release gave it, kept in an EFI
# variable) and unlocks through B; A comes back, and under a stream of attestations the primary is
# killed and the standby promoted: both appliances carry on, under the same process ids,
# every acknowledged release is on the promoted server with its audit records, and the one
# audit chain verifies. Writes OUT/summary.txt (one `step: result` per line, with the
# seconds attestations were refused) and every log; exit 0 when every step behaved. Needs
# root. Stops what it started, by process id, and deletes only the namespaces it made.
set -euo pipefail
OUT=${1:?usage: lab-ha.sh OUT}
# shellcheck source=lab-common.sh
source "$(dirname "$0")/lab-common.sh"
WARDEN_BENCH=${WARDEN_BENCH:-$(dirname "$WARDEN")/warden-bench}
A=wha$$ B=whb$$ PRIMARY=wdb1$$ STANDBY=wdb2$$ LOAD=wload$$
DATABASE_PIDS=()

# PostgreSQL stops fast (SIGINT) before the rest: a smart shutdown would wait for clients.
stop_databases() {
    for pid in "${DATABASE_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${DATABASE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop_databases; cleanup' EXIT

build_node_image
rack_network
attach "$PRIMARY" vdb1 10.213.0.21/24
attach "$STANDBY" vdb2 10.213.0.22/24
attach "$A" vha 10.213.0.1/24
attach "$B" vhb 10.213.0.3/24
attach "$LOAD" vload 10.213.0.9/24

# --- PostgreSQL: a primary whose commits wait for a streaming standby -------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DB=$WORK/db
# Nothing the database set-up writes (keys, the password) is readable by others, even briefly.
umask 077
mkdir -p "$DB"
chmod 711 "$WORK"
# As the postgres user (PostgreSQL refuses root), at home in DB.
POSTGRES_USER=(env HOME="$DB" setpriv --reuid=postgres --regid=postgres --clear-groups --)
# as_postgres NAMESPACE COMMAND…: a command as that user in that namespace.
as_postgres() {
    local namespace=$1
    shift
    ip netns exec "$namespace" "${POSTGRES_USER[@]}" "$@"
}
# A CA of the lab's own, and each server's certificate naming its address.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Lab database CA" \
    -keyout "$DB/ca.key" -out "$DB/ca.pem" -days 2 2> /dev/null
for server in primary:10.213.0.21 standby:10.213.0.22; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${server#*:}" \
        -addext "subjectAltName=IP:${server#*:}" -CA "$DB/ca.pem" -CAkey "$DB/ca.key" \
        -keyout "$DB/${server%%:*}.key" -out "$DB/${server%%:*}.pem" -days 2 2> /dev/null
done
openssl rand -hex 24 > "$DB/password"
# The password, as files only (never an argument): psql's and the standby's password file,
# and Warden's copy (root's).
printf '*:*:*:warden:%s\n' "$(cat "$DB/password")" > "$DB/pgpass"
install -m 600 "$DB/password" "$WORK/database-password"
install -m 600 "$DB/pgpass" "$WORK/pgpass"
chown -R postgres:postgres "$DB"
umask 022
as_postgres "$PRIMARY" "$PGBIN/initdb" -D "$DB/primary" -U warden --pwfile "$DB/password" --auth=scram-sha-256 -E UTF8 \
    --locale=C --no-sync > "$OUT/postgres-setup.log" 2>&1
printf 'hostssl all warden 10.213.0.0/24 scram-sha-256\nhostssl replication warden 10.213.0.0/24 scram-sha-256\n' \
    >> "$DB/primary/pg_hba.conf"

# start_postgres NAME NAMESPACE ADDRESS [SETTING…]: the server in DB/NAME, on ADDRESS:5432
# with TLS, durable commits; its process id in POSTGRES_PID.
start_postgres() {
    local name=$1 namespace=$2 address=$3
    shift 3
    as_postgres "$namespace" mkdir -p "$DB/$name-socket"
    # Started directly, not through a shell function, so that $! is the server's own id.
    ip netns exec "$namespace" "${POSTGRES_USER[@]}" "$PGBIN/postgres" \
        -D "$DB/$name" -p 5432 -k "$DB/$name-socket" -c listen_addresses="$address" -c ssl=on \
        -c ssl_cert_file="$DB/$name.pem" -c ssl_key_file="$DB/$name.key" -c fsync=on -c synchronous_commit=on \
        -c max_connections=100 -c shared_buffers=32MB "$@" > "$OUT/postgres-$name.log" 2>&1 &
    POSTGRES_PID=$!
    DATABASE_PIDS+=("$POSTGRES_PID")
    for _ in $(seq 100); do
        ip netns exec "$namespace" "$PGBIN/pg_isready" -q -h "$address" -p 5432 -U warden -d postgres && return 0
        sleep 0.1
    done
    log "PostgreSQL $name did not start (postgres-$name.log)"
    exit 1
}

# psql_at ADDRESS [PSQL ARGS…]: psql on database warden (or SQL_DATABASE) there, from the
# load's namespace, over TLS checked as Warden does; unaligned rows, no headers.
psql_at() {
    local address=$1
    shift
    ip netns exec "$LOAD" env PGPASSFILE="$WORK/pgpass" PGSSLMODE=verify-full PGSSLROOTCERT="$DB/ca.pem" \
        psql -X -q -t -A -h "$address" -U warden -d "${SQL_DATABASE:-warden}" "$@"
}
# sql ADDRESS STATEMENT: one statement there.
sql() { psql_at "$1" -c "$2"; }

start_postgres primary "$PRIMARY" 10.213.0.21
PRIMARY_PID=$POSTGRES_PID
SQL_DATABASE=postgres sql 10.213.0.21 "CREATE DATABASE warden" > /dev/null
as_postgres "$STANDBY" "$PGBIN/pg_basebackup" \
    -D "$DB/standby" -R -X stream -c fast \
    -d "host=10.213.0.21 user=warden application_name=standby passfile=$DB/pgpass sslmode=verify-full sslrootcert=$DB/ca.pem" \
    >> "$OUT/postgres-setup.log" 2>&1 || true
if [ ! -f "$DB/standby/standby.signal" ]; then
    log "the standby's base backup failed (postgres-setup.log)"
    exit 1
fi
start_postgres standby "$STANDBY" 10.213.0.22
# Commits on the primary wait for the standby from now on. The setting is made after the
# base backup, so the standby does not carry it: once promoted, it commits without waiting
# for a standby that is gone (checked after the promotion).
SQL_DATABASE=postgres sql 10.213.0.21 "ALTER SYSTEM SET synchronous_standby_names = 'standby'" > /dev/null
SQL_DATABASE=postgres sql 10.213.0.21 "SELECT pg_reload_conf()" > /dev/null
for _ in $(seq 100); do
    [ "$(SQL_DATABASE=postgres sql 10.213.0.21 "SELECT sync_state FROM pg_stat_replication")" = sync ] && break
    sleep 0.1
done
replication=$(SQL_DATABASE=postgres sql 10.213.0.21 "SELECT application_name || ' ' || sync_state FROM pg_stat_replication")
if [ "$replication" = "standby sync" ]; then
    result "database" "primary 10.213.0.21 with synchronous streaming standby 10.213.0.22 (TLS, verify-full)"
else
    result "database" "FAILED (replication: ${replication:-none})"
    exit 1
fi

# --- the appliances -----------------------------------------------------------------------
URI="postgresql://warden@10.213.0.21:5432,10.213.0.22:5432/warden?sslmode=verify-full&sslrootcert=$DB/ca.pem&target_session_attrs=read-write"
# appliance NAME: NAMESPACE, ADDRESS and SETTINGS (an `env` command) of appliance NAME on
# the machines' network.
appliance() {
    case $1 in a) NAMESPACE=$A ADDRESS=10.213.0.1 ;; *) NAMESPACE=$B ADDRESS=10.213.0.3 ;; esac
    SETTINGS=(env WARDEN_APPLIANCE_NAME="lab-$1" WARDEN_DATABASE="$URI" WARDEN_DATABASE_PASSWORD_FILE="$WORK/database-password"
        WARDEN_API_HOST="$ADDRESS" WARDEN_SERVER_NAMES="$ADDRESS" WARDEN_BOOT_HOST=0.0.0.0 WARDEN_BOOT_SERVER_ADDRESS="$ADDRESS"
        WARDEN_BOOT_HTTP_PORT=80 WARDEN_TFTP_PORT=69 WARDEN_PROXYDHCP_PORT=67 WARDEN_PROXYDHCP_ALT_PORT=4011
        WARDEN_FIRMWARE="$HERE/Firmware/firmware.yaml")
}
# on NAME COMMAND…: runs a command in appliance NAME's namespace with its settings.
on() {
    appliance "$1"
    shift
    ip netns exec "$NAMESPACE" "${SETTINGS[@]}" "$@"
}
# warden_on NAME ARGS…: the CLI against appliance NAME's API, with its state folder.
warden_on() {
    local name=$1
    shift
    appliance "$name"
    on "$name" "$WARDEN" "$@" --warden-url "https://$ADDRESS:8443" --state-dir "$WORK/$name"
}
# serve NAME LOG: starts appliance NAME, its process id in SERVE_PID, and waits until it serves.
serve() {
    local name=$1 serve_log=$OUT/$2
    appliance "$name"
    # Started directly, not through a shell function, so that $! is the server's own id.
    ip netns exec "$NAMESPACE" "${SETTINGS[@]}" "$WARDEN" serve --state-dir "$WORK/$name" > "$serve_log" 2>&1 &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    for _ in $(seq 300); do grep -q "msg=\"serving https://" "$serve_log" 2>/dev/null && return 0; sleep 0.1; done
    log "appliance $name did not start ($2)"
    exit 1
}
serve a warden-a.log
A_PID=$SERVE_PID
printf 'a lab join passphrase\n' > "$WORK/passphrase"
chmod 600 "$WORK/passphrase"
on a "$WARDEN" appliance export-join --state-dir "$WORK/a" --out "$WORK/join.bundle" --passphrase-file "$WORK/passphrase" >> "$OUT/cli.log"
on b "$WARDEN" appliance join "$WORK/join.bundle" --state-dir "$WORK/b" --passphrase-file "$WORK/passphrase" >> "$OUT/cli.log"
serve b warden-b.log
B_PID=$SERVE_PID
log "appliances lab-a (10.213.0.1) and lab-b (10.213.0.3, joined with a bundle) serve on one database"

# removed_appliance NAME PORT: appliance NAME joins through lab-a, serves once with its API
# on PORT (which records its server certificate) and is removed through lab-b. Its
# certificate names lab-a's address: whoever holds it there (NAME left running, or a thief
# of its key) is what a node must refuse from its next release on.
removed_appliance() {
    local name=$1 port=$2 pid
    on a "$WARDEN" appliance export-join --state-dir "$WORK/a" --out "$WORK/join-$name.bundle" \
        --passphrase-file "$WORK/passphrase" >> "$OUT/cli.log"
    on a env WARDEN_APPLIANCE_NAME="$name" "$WARDEN" appliance join "$WORK/join-$name.bundle" --state-dir "$WORK/$name" \
        --passphrase-file "$WORK/passphrase" >> "$OUT/cli.log"
    appliance a
    ip netns exec "$NAMESPACE" "${SETTINGS[@]}" WARDEN_APPLIANCE_NAME="$name" WARDEN_API_PORT="$port" WARDEN_BOOT_HTTP_PORT=0 \
        WARDEN_TFTP_PORT=0 WARDEN_PROXYDHCP_PORT=0 WARDEN_PROXYDHCP_ALT_PORT=0 \
        "$WARDEN" serve --state-dir "$WORK/$name" > "$OUT/warden-$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 300); do grep -q "msg=\"serving https://" "$OUT/warden-$name.log" 2>/dev/null && break; sleep 0.1; done
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    forget PIDS "$pid"
    on b "$WARDEN" appliance remove "$name" --state-dir "$WORK/b" >> "$OUT/cli.log"
    log "appliance $name joined, served once and was removed"
}
removed_appliance lab-c 8444

# --- the operator's flow, through A ----------------------------------------------------------
printf 'K10%s::server:%s' "$(openssl rand -hex 32)" "$(openssl rand -hex 16)" > "$WORK/token"
warden_on a cluster add lab --k3s-server https://10.213.0.10:6443 --token-file "$WORK/token" >> "$OUT/cli.log"
# The image carries both appliances' URLs; B fetches it from the database when asked.
warden_on a image add node --kernel "$WORK/node/vmlinuz" --initrd "$WORK/node/initrd.img" --with-agent \
    --agent-server https://10.213.0.1:8443 --agent-server https://10.213.0.3:8443 \
    --cmdline "console=ttyS0,115200 panic=-1" >> "$OUT/cli.log"
printf 'name: lab-node\neventLog: required\nimage: required\n' > "$WORK/lab-node.yaml"
warden_on a policy apply "$WORK/lab-node.yaml" >> "$OUT/cli.log"
make_machine node-1
warden_on a machine enroll node-1 --ek "$WORK/node-1/ek.pub" --mac 52:54:00:57:00:01 --cluster lab --role agent \
    --image node --policy lab-node >> "$OUT/cli.log"

# scripts NAME: how many boot scripts appliance NAME has served node-1 (in all its logs).
scripts() {
    cat "$OUT/warden-$1"*.log | grep -c "component=http msg=\"script for 52:54:00:57:00:01" || true
}
# released_by: the appliance named by node-1's latest release record.
released_by() {
    sql "$1" "SELECT r.appliance FROM auditRecord r JOIN machine m ON r.subject LIKE 'machine/' || m.id || '/attestation/%'
              WHERE m.name = 'node-1' AND r.action = 'release' ORDER BY r.sequence DESC LIMIT 1"
}
# boot_node ROUND STEP: node-1 boots from the network; one summary line for STEP.
boot_node() {
    local round=$1 step=$2 seconds before_a before_b served=()
    before_a=$(scripts a) before_b=$(scripts b)
    # shellcheck disable=SC2046
    boot node-1 240 "node-1-boot-$round" $(uefi_pxe node-1 52:54:00:57:00:01)
    seconds=$(awk '/WARDEN-NODE: SUCCESS/ {print $1; exit}' "$OUT/node-1-boot-$round.log")
    [ "$(scripts a)" -gt "$before_a" ] && served+=(lab-a)
    [ "$(scripts b)" -gt "$before_b" ] && served+=(lab-b)
    if [ -n "$seconds" ]; then
        result "$step" "node-1 unlocked after ${seconds} s; boot script from ${served[*]:-neither}, release by $(released_by 10.213.0.21)"
    else
        result "$step" "FAILED ($(grep -a 'WARDEN-NODE: ' "$OUT/node-1-boot-$round.log" | tail -1))"
    fi
}

log "node-1 boots with both appliances up"
boot_node 1 "both appliances"
# A second removal: the next release lists two, which the agent writes over the first list.
removed_appliance lab-d 8445

# --- appliance A dies ------------------------------------------------------------------------
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null || true
forget PIDS "$A_PID"
log "appliance lab-a killed (SIGKILL, process $A_PID)"
# lab-a's address now answers with removed lab-c's certificate (and key).
ip netns exec "$A" openssl s_server -accept 10.213.0.1:8443 -cert "$WORK/lab-c/server.pem" -key "$WORK/lab-c/server.key" \
    -www > "$OUT/impostor.log" 2>&1 &
IMPOSTOR_PID=$!
PIDS+=("$IMPOSTOR_PID")
for _ in $(seq 50); do grep -q ACCEPT "$OUT/impostor.log" 2>/dev/null && break; sleep 0.1; done
boot_node 2 "appliance A killed"
kill "$IMPOSTOR_PID"
wait "$IMPOSTOR_PID" 2>/dev/null || true
forget PIDS "$IMPOSTOR_PID"
KEPT=/sys/firmware/efi/efivars/WardenRemovedAppliances-eb768261-75ee-4827-8085-bdcc48001e7a
if grep -aq "https://10.213.0.1:8443: the server is not trusted: its certificate is one of an appliance an operator removed; trying the next appliance" \
    "$OUT/node-1-boot-2.log" && grep -aq "$KEPT now lists 1 removed" "$OUT/node-1-boot-1.log" \
    && grep -aq "$KEPT now lists 2 removed" "$OUT/node-1-boot-2.log"; then
    result "removed appliance refused" "lab-a's address answered with removed lab-c's certificate, which node-1 kept in an EFI variable (1 removed after its first release, 2 after its second, rewritten in place): refused, went on to lab-b"
else
    result "removed appliance refused" "FAILED ($(grep -ah 'https://10.213.0.1:8443\|removed appliance' "$OUT"/node-1-boot-[12].log | head -3 | tr '\n' ' '))"
fi

# --- the primary dies under a stream of attestations ---------------------------------------
serve a warden-a-2.log
A_PID=$SERVE_PID
log "appliance lab-a restarted (process $A_PID)"
ip netns exec "$LOAD" "$WARDEN_BENCH" stream --server https://10.213.0.1:8443 --server https://10.213.0.3:8443 \
    --state-dir "$WORK/a" --machines 20 --stop-file "$WORK/stop-stream" --out "$OUT/stream.txt" > "$OUT/stream.log" 2>&1 &
STREAM_PID=$!
PIDS+=("$STREAM_PID")
for _ in $(seq 1200); do grep -q "^streaming" "$OUT/stream.log" 2>/dev/null && break; sleep 0.1; done
grep -q "^streaming" "$OUT/stream.log" || { log "the stream did not start (stream.log)"; exit 1; }
sleep 3
KILLED=$EPOCHREALTIME
kill -STOP "$PRIMARY_PID"
pkill -KILL -P "$PRIMARY_PID" || true
kill -KILL "$PRIMARY_PID"
wait "$PRIMARY_PID" 2>/dev/null || true
forget DATABASE_PIDS "$PRIMARY_PID"
log "PostgreSQL primary killed (SIGKILL to process $PRIMARY_PID and its children)"
as_postgres "$STANDBY" "$PGBIN/pg_ctl" promote -w \
    -D "$DB/standby" >> "$OUT/postgres-setup.log" 2>&1
PROMOTED=$EPOCHREALTIME
log "standby promoted ($(awk -v a="$PROMOTED" -v b="$KILLED" 'BEGIN {printf "%.1f", a - b}') s after the kill);" \
    "synchronous_standby_names there: '$(sql 10.213.0.22 "SHOW synchronous_standby_names")'"
# Until an attestation that started after the kill has passed through each appliance (60 s at most).
for _ in $(seq 600); do
    through=$(awk -v k="$KILLED" '$1 > k && $3 == "ok" {print $5}' "$OUT/stream.txt" | sort -u | wc -l)
    [ "$through" = 2 ] && break
    sleep 0.1
done
sleep 2
touch "$WORK/stop-stream"
wait "$STREAM_PID" || { log "the stream failed (stream.log)"; exit 1; }
forget PIDS "$STREAM_PID"

# The window ends when attestations pass through both appliances again: for each, its first
# passing attestation that started after the kill; the later of the two.
window=$(awk -v k="$KILLED" '$1 > k && $3 == "ok" && (!($5 in first) || $2 < first[$5]) {first[$5] = $2}
    END {for (server in first) {n++; if (n == 1 || first[server] > last) last = first[server]} if (n == 2) printf "%.1f", last - k}' "$OUT/stream.txt")
refused=$(awk -v k="$KILLED" '$2 > k && $3 == "refused"' "$OUT/stream.txt" | wc -l)
unexpected=$(awk '$3 == "refused" && !/refused \(503 /' "$OUT/stream.txt" | wc -l)
passed=$(awk '$3 == "ok"' "$OUT/stream.txt" | wc -l)
if [ -n "$window" ] && awk -v w="$window" 'BEGIN {exit !(w < 10)}' && [ "$unexpected" = 0 ]; then
    result "fail-over window" "${window} s from the primary's death until attestations passed through both appliances again; $refused attempts refused meanwhile, all 503"
else
    result "fail-over window" "FAILED (${window:-attestations did not pass again through both appliances}; $unexpected refusals other than 503: $(awk '$3 == "refused" && !/refused \(503 /' "$OUT/stream.txt" | head -1))"
fi
after=$(awk -v k="$KILLED" '$1 > k && $3 == "ok" {print $5}' "$OUT/stream.txt" | sort -u | tr '\n' ' ')
serving=$(grep -c "msg=\"serving https://" "$OUT/warden-a-2.log" "$OUT/warden-b.log" | awk -F: '{s += $NF} END {print s}')
if kill -0 "$A_PID" 2> /dev/null && kill -0 "$B_PID" 2> /dev/null && [ "$serving" = 2 ] && [ "${after% }" = "https://10.213.0.1:8443 https://10.213.0.3:8443" ]; then
    result "appliances reconnected" "lab-a (process $A_PID) and lab-b (process $B_PID) passed attestations after the fail-over without a restart"
else
    result "appliances reconnected" "FAILED (passing after the kill: ${after:-none}; serving lines: $serving)"
fi

# Every release acknowledged to a machine is on the promoted server, with the attestation
# and release records of the audit log that name it.
awk '$3 == "ok" {print "\\\\x" $6}' "$OUT/stream.txt" > "$WORK/acknowledged.txt"
missing=$(psql_at 10.213.0.22 -v ON_ERROR_STOP=1 <<SQL
CREATE TEMPORARY TABLE acknowledged (nonce BYTEA);
\copy acknowledged FROM '$WORK/acknowledged.txt'
SELECT count(*) FROM acknowledged k WHERE NOT EXISTS (
    SELECT 1 FROM attestation a WHERE a.nonce = k.nonce AND a.passed
        AND (SELECT count(DISTINCT r.action) FROM auditRecord r
             WHERE r.subject = 'machine/' || a.machineID || '/attestation/' || a.id
                AND r.action IN ('attestation', 'release')) = 2);
SQL
)
before=$(awk -v k="$KILLED" '$3 == "ok" && $2 < k' "$OUT/stream.txt" | wc -l)
if [ "$missing" = 0 ] && [ "$before" -gt 0 ]; then
    result "acknowledged releases" "all $passed (of which $before before the kill) on the promoted server, each with its attestation and release records"
else
    result "acknowledged releases" "FAILED (${missing:-?} of $passed missing on the promoted server; $before before the kill)"
fi

# --- the one audit chain, exported by an auditor through B and verified offline ---------------
warden_on b operator add auditor-1 --role auditor --out "$WORK/auditor" >> "$OUT/cli.log"
on b "$WARDEN" audit export --out "$OUT/audit.tar.gz" --identity "$WORK/auditor" --warden-url https://10.213.0.3:8443 \
    --state-dir "$WORK/b" >> "$OUT/cli.log"
openssl pkey -in "$WORK/b/audit.key" -pubout -out "$OUT/audit-key.pem" 2> /dev/null
if "$WARDEN" audit verify "$OUT/audit.tar.gz" --key "$OUT/audit-key.pem" > "$OUT/audit-verify.log" 2>&1; then
    mkdir -p "$WORK/bundle"
    tar -xzf "$OUT/audit.tar.gz" -C "$WORK/bundle"
    writers=$(find "$WORK/bundle" -name records.jsonl -exec grep -ho '"appliance":"[^"]*"' {} + | sort | uniq -c |
        awk '{gsub(/"appliance":|"/, "", $2); printf "%s%s by %s", (n++ ? ", " : ""), $1, $2}')
    result "audit chain" "verified end to end across both appliances and the fail-over ($writers)"
else
    result "audit chain" "FAILED ($(tail -1 "$OUT/audit-verify.log"))"
fi
log "done in $(elapsed) s"
! grep -q "FAILED" "$OUT/summary.txt"
