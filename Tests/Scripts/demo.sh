#!/usr/bin/env bash
# A walk-through of enrolment and key release with the release binaries, self-contained:
# a warden serve in out/demo (port 18443), a software TPM (swtpm, 127.0.0.1), the operator
# CLI and warden-agent. Everything it starts is stopped by process id when it ends.
set -euo pipefail
BIN=${BIN:-.build/release}
DEMO=${DEMO:-out/demo}
PORT=${PORT:-18443}
rm -rf "$DEMO" && mkdir -p "$DEMO/tpm"
WARDEN=$(realpath "$BIN/warden") AGENT=$(realpath "$BIN/warden-agent")
cd "$DEMO"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

swtpm socket --tpm2 --tpmstate dir=tpm --server type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((PORT + 2)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear >/dev/null 2>&1 &
pids+=($!)
WARDEN_API_PORT=$PORT WARDEN_BOOT_HTTP_PORT=0 WARDEN_TFTP_PORT=0 WARDEN_PROXYDHCP_PORT=0 WARDEN_PROXYDHCP_ALT_PORT=0 "$WARDEN" serve --state-dir .warden > serve.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "msg=\"serving https://" serve.log && break; sleep 0.1; done
cat serve.log
export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$((PORT + 1))
tpm2_createek -c ek.ctx -G rsa -u ek.pub >/dev/null && tpm2_flushcontext -t
warden() { "$WARDEN" "$@" --warden-url "https://127.0.0.1:$PORT" --state-dir .warden; }
agent() { "$AGENT" "$1" --server "https://127.0.0.1:$PORT" --ca .warden/ca.pem --tcti "$TPM2TOOLS_TCTI" "${@:2}"; }

printf 'K10%s::server:%s\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 16)" > token
set -x
warden cluster add rack-a --k3s-server https://10.0.0.1:6443 --token-file token
warden machine enroll node-1 --ek ek.pub --cluster rack-a --role server --mac 52:54:00:12:34:56
agent attest --out node-1
ls -l node-1
agent attest --out node-1-again && cmp node-1/disk.key node-1-again/disk.key && echo "same disk key released twice"
tpm2_pcrextend 4:sha256="$(openssl rand -hex 32)"
agent attest --out changed || echo "refused: PCR 4 changed, as it should be"
warden machine approve node-1
agent attest --out approved
warden machine show node-1

# The auditor's view: a signed export of the whole chain, verified offline against the
# audit key's public half, and the manifest checked with openssl and sha256sum alone.
warden audit key > audit-key.pem
warden audit export --out audit.tar.gz
"$WARDEN" audit verify audit.tar.gz --key audit-key.pem
mkdir -p audit && tar -xzf audit.tar.gz -C audit
(cd audit && openssl pkeyutl -verify -pubin -inkey audit-key.pem -rawin -in manifest.sha256 -sigfile manifest.sha256.sig \
    && sha256sum --quiet -c manifest.sha256 && echo "manifest and files check out with openssl and sha256sum")
