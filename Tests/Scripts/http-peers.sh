#!/usr/bin/env bash
# http-peers.sh — what `warden-bench http` measures Warden against: nginx (nginx-light, whose
# service is not started where policy-rc.d forbids it; the benchmark starts its own on a
# loopback port) and the load tool wrk.
set -euo pipefail
missing=$(for p in nginx-light wrk; do dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'ok installed' || echo $p; done)
if [ -n "$missing" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing
fi
