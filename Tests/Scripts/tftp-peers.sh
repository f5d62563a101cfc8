#!/usr/bin/env bash
# tftp-peers.sh DIR — the TFTP servers `warden-bench tftp` measures Warden against:
# tftpd-hpa installed from Debian (its service is not started where policy-rc.d forbids it;
# the benchmark starts its own, on a loopback port), and atftpd unpacked into DIR/atftpd,
# since Debian's atftpd and tftpd-hpa packages conflict.
set -euo pipefail
DIR=${1:-out/peers}
mkdir -p "$DIR"
if ! dpkg-query -W -f='${Status}' tftpd-hpa 2>/dev/null | grep -q 'ok installed'; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends tftpd-hpa
fi
if [ ! -x "$DIR/atftpd/usr/sbin/atftpd" ]; then
    (cd "$DIR" && apt-get download atftpd >/dev/null && dpkg-deb -x atftpd_*.deb atftpd && rm -f atftpd_*.deb)
fi
