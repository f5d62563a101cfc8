#!/usr/bin/env bash
# fuzz.sh SECONDS [TARGET...] — builds each (or each named) parser's libFuzzer target (with AddressSanitizer) and runs
# it for SECONDS, seeded with swtpm evidence and, when present, the shared real event logs.
# Prints executions, coverage and crashes per target; exits non-zero if any target crashed.
# The fuzz targets exist only when WARDEN_FUZZ is set (see Package.swift). `--sanitize=fuzzer`
# alone did not reliably give the library modules libFuzzer's coverage (inline 8-bit
# counters and PC tables): without them it runs blind ("no interesting inputs ... Is the
# code instrumented?"), so the coverage kinds are named explicitly, and lld links.
set -euo pipefail
SECONDS_EACH=${1:-60}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK="$ROOT/out/fuzz"
SCRATCH="$ROOT/.build-fuzz"
cd "$ROOT"
mkdir -p "$WORK"

TARGETS=(attest signature public pcrfile eventlog tftp dhcp agentbody bundleline)
if [ $# -gt 1 ]; then TARGETS=("${@:2}"); fi
build() {  # build TARGET: each product is built (and linked) right before it runs
    WARDEN_FUZZ=1 swift build --scratch-path "$SCRATCH" --product "fuzz-$1" \
        --sanitize=fuzzer --sanitize=address -Xswiftc -use-ld=lld \
        -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table > "$WORK/build-$1.log" 2>&1 ||
        { tail -20 "$WORK/build-$1.log"; exit 2; }
}

EVIDENCE="$WORK/evidence"
rm -rf "$EVIDENCE"
bash Tests/Scripts/make-swtpm-evidence.sh "$EVIDENCE"
seed() {  # seed TARGET FILES...
    local dir="$WORK/corpus-$1"; shift
    mkdir -p "$dir"
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/"; done
    echo "$dir"
}
declare -A CORPUS
CORPUS[attest]=$(seed attest "$EVIDENCE"/quote_*.msg "$EVIDENCE"/certify.msg)
CORPUS[signature]=$(seed signature "$EVIDENCE"/quote_*.sig "$EVIDENCE"/certify.sig)
CORPUS[public]=$(seed public "$EVIDENCE"/ak_*.pub "$EVIDENCE"/ek_rsa.pub "$EVIDENCE"/ak_*.pem)
CORPUS[pcrfile]=$(seed pcrfile "$EVIDENCE"/quote_*.pcrs)
CORPUS[eventlog]=$(seed eventlog "$EVIDENCE"/eventlog.bin "$ROOT"/../shared/fixtures/eventlogs/*.bin)
CORPUS[tftp]=$(seed tftp "$ROOT"/Tests/Fuzz/Seeds/tftp/*.bin)
CORPUS[dhcp]=$(seed dhcp "$ROOT"/Tests/Fuzz/Seeds/dhcp/*.bin)
CORPUS[bundleline]=$(seed bundleline "$ROOT"/Tests/Fuzz/Seeds/bundle/*.jsonl)
CORPUS[agentbody]=$(seed agentbody "$ROOT"/Tests/Fuzz/Seeds/agent/*.json)
# An attest request as a real agent sends it: the swtpm evidence, base64 in JSON.
python3 - "$EVIDENCE" "${CORPUS[agentbody]}/attest.json" <<'PY'
import base64, json, sys
folder, out = sys.argv[1], sys.argv[2]
read = lambda name: base64.b64encode(open(folder + "/" + name, "rb").read()).decode()
json.dump({"attestationKeyID": 1, "nonce": base64.b64encode(bytes(32)).decode(), "attest": read("quote_rsa.msg"), "signature": read("quote_rsa.sig"),
           "pcrs": read("quote_rsa.pcrs"), "eventLog": read("eventlog.bin"), "legacyBIOS": False}, open(out, "w"))
PY

failed=0
printf '%-10s %12s %10s %6s %8s\n' target executions exec/s cov crashes
for target in "${TARGETS[@]}"; do
    build "$target"
    log="$WORK/$target.log"
    artifacts="$WORK/crashes-$target/"
    rm -rf "$artifacts" && mkdir -p "$artifacts"
    set +e
    SWIFT_BACKTRACE=enable=no "$SCRATCH/debug/fuzz-$target" -max_total_time="$SECONDS_EACH" \
        -max_len=131072 -artifact_prefix="$artifacts" -print_final_stats=1 "${CORPUS[$target]}" > "$log" 2>&1
    status=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
    crashes=$(find "$artifacts" -type f | wc -l)
    grep -q "Loaded 1 modules" "$log" || { echo "$target: no coverage instrumentation registered"; failed=1; }
    printf '%-10s %12s %10s %6s %8s\n' "$target" "$runs" "$rate" "$cov" "$crashes"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then failed=1; echo "  see $log"; fi
done
exit $failed
