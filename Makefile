# Warden — the two set-up commands of a fresh machine are `make run` and `make test`
# (see README.md). Both install the Debian packages they need first.

SHELL := /bin/bash
SWIFT ?= swift
# C libraries Warden links, and the real tools its tests drive.
DEBIAN_PACKAGES := pkg-config libtss2-dev libssl-dev libsqlite3-dev libarchive-dev \
	swtpm swtpm-tools tpm2-tools efitools openssl python3 cpio tar gzip iproute2 cryptsetup-bin curl e2fsprogs \
	ipxe tftp-hpa atftp systemd-boot-efi binutils pesign sbsigntool busybox-static kmod \
	qemu-system-x86 ovmf seabios dnsmasq-base systemd postgresql python3-prometheus-client python3-venv
FUZZ_SECONDS ?= 60
# Seconds each fuzz target runs inside `make test` (every target, every run).
FUZZ_TEST_SECONDS ?= 10
OUT := out

.PHONY: run release bench-build demo lab lab-ha adversary install install-files man test check-architecture check-format format deps build bench bench-attest bench-audit bench-tftp bench-http bench-dhcp bench-loops fuzz clean

## run: build Warden and run its main job on its defaults: `warden serve` with the state
## folder ./.warden and the HTTPS API on 127.0.0.1:8443 (Ctrl-C stops it).
run: release
	.build/release/warden serve

release: deps
	$(SWIFT) build -c release --product warden
	$(SWIFT) build -c release --product warden-agent

## install: the release binaries, the systemd unit (Config/warden.service), the default
## configuration (kept when one exists), the man pages and the bash, zsh and fish
## completions, under DESTDIR/PREFIX (PREFIX=/usr/local, SYSCONFDIR=/etc by default).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
BIN ?= .build/release
install: release
	$(SWIFT) build -c release --product generate-manual
	$(MAKE) install-files BIN=.build/release

## install-files: what `install` copies, from the binaries in BIN (and its generate-manual,
## from swift-argument-parser): the test suite installs its debug build this way.
install-files:
	install -D -m 0755 $(BIN)/warden $(DESTDIR)$(PREFIX)/bin/warden
	install -D -m 0755 $(BIN)/warden-agent $(DESTDIR)$(PREFIX)/bin/warden-agent
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(SYSCONFDIR)/warden
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' Config/warden.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/warden.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/warden/warden.yaml ] || \
		sed 's|^stateDir: .*|stateDir: /var/lib/warden|' Config/warden.yaml > $(DESTDIR)$(SYSCONFDIR)/warden/warden.yaml
	rm -rf $(OUT)/man.tmp && mkdir -p $(OUT)/man.tmp
	$(BIN)/generate-manual $(BIN)/warden --multi-page --output-directory $(OUT)/man.tmp
	$(BIN)/generate-manual $(BIN)/warden-agent --multi-page --output-directory $(OUT)/man.tmp
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/man/man1 $(OUT)/man.tmp/*.1
	rm -rf $(OUT)/man.tmp
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN)/warden completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/warden
	$(BIN)/warden completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_warden
	$(BIN)/warden completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/warden.fish

## bench-build: `warden-bench`, the benchmarks' own executable, beside the release `warden`.
bench-build: release
	$(SWIFT) build -c release --product warden-bench

## demo: a self-contained walk-through (own server on port 18443, software TPM, CLI, agent).
demo: release
	bash Tests/Scripts/demo.sh

## lab: the rack in a box: QEMU machines network-boot through Warden in network namespaces
## of the lab's own, attest and unlock their disks (out/lab holds every log; needs root).
lab: release
	WARDEN=$(CURDIR)/.build/release/warden bash Tests/Lab/lab.sh $(OUT)/lab

## lab-ha: no single point of failure: two appliances on a PostgreSQL primary with a
## synchronous standby, in namespaces of the lab's own; a QEMU node unlocks through either,
## appliance A is killed, the primary is killed under a stream of attestations and the
## standby promoted (out/lab-ha/summary.txt, one line per step; root, ~3 min).
lab-ha: bench-build
	WARDEN=$(CURDIR)/.build/release/warden WARDEN_BENCH=$(CURDIR)/.build/release/warden-bench \
		bash Tests/Lab/lab-ha.sh $(OUT)/lab-ha

## adversary: every attack of a hostile boot network against a real `warden serve` on
## loopback, at the scale the red team used; one line per attack in out/adversary/summary.txt
## (root; its quick form, against the debug build, runs inside `make test`).
adversary: bench-build
	python3 Tests/Adversary/adversary.py --warden .build/release/warden --agent .build/release/warden-agent --out $(OUT)/adversary

## test: the whole test suite (what .ci/run calls): the architecture's import rules, the
## Swift tests (with the lab), the adversarial suite's quick form (alone: it measures how
## long clients wait, which the parallel Swift tests would distort), then every fuzz target
## for FUZZ_TEST_SECONDS.
test: deps check-architecture check-format
	$(SWIFT) build --build-tests
	$(SWIFT) build --product generate-manual
	$(SWIFT) test --skip-build
	python3 Tests/Adversary/adversary.py --quick --warden .build/debug/warden --agent .build/debug/warden-agent --out $(OUT)/adversary-quick
	bash Tests/Scripts/fuzz.sh $(FUZZ_TEST_SECONDS)

## check-architecture: fails when a module imports one it may not see (ARCHITECTURE.md).
check-architecture:
	python3 Tests/Scripts/check-architecture.py

## check-format: fails when a Swift file is not as `swift format` (.swift-format) writes it.
check-format:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Package.swift

## format: rewrites every Swift file as `swift format` (.swift-format) writes it.
format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Package.swift

## deps: install the Debian packages that are missing (waits for a held dpkg lock).
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get -o DPkg::Lock::Timeout=300 update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

## bench: verification throughput and latency on one core, against openssl speed rsa2048.
bench: bench-build
	taskset -c 0 .build/release/warden-bench verify

## bench-attest: full attestations per second over HTTPS at 1, 50 and 500 machines, on the
## databases BENCH_DATABASE names (sqlite, postgres, postgres-standby; comma-separated,
## compared in one run) with BENCH_APPLIANCES appliances sharing PostgreSQL.
BENCH_DATABASE ?= sqlite
BENCH_APPLIANCES ?= 1
bench-attest: bench-build
	.build/release/warden-bench attest --database $(BENCH_DATABASE) --appliances $(BENCH_APPLIANCES)
	.build/release/warden-bench attest --ak rsa --database $(BENCH_DATABASE) --appliances $(BENCH_APPLIANCES)

## bench-audit: audit export and offline verification of a 1,000,000-record chain.
bench-audit: bench-build
	.build/release/warden-bench audit

## bench-tftp: Warden's TFTP server against tftpd-hpa and atftpd (installed or unpacked here
## first: the two Debian packages conflict, so atftpd is unpacked into out/peers, not installed).
bench-tftp: bench-build
	bash Tests/Scripts/tftp-peers.sh out/peers
	.build/release/warden-bench tftp --atftpd out/peers/atftpd/usr/sbin/atftpd

## bench-http: image downloads from Warden's boot HTTP server against nginx, at 1, 100 and
## 1,000 connections (wrk), throughput and server CPU seconds per GB.
bench-http: bench-build
	bash Tests/Scripts/http-peers.sh
	.build/release/warden-bench http

## bench-dhcp: ProxyDHCP replies per second and latency for 1,000 PXE clients.
bench-dhcp: bench-build
	taskset -c 1 .build/release/warden-bench dhcp

## bench-loops: ProxyDHCP, TFTP and boot scripts timed while boot HTTP hashes a 1 GiB image.
bench-loops: bench-build
	.build/release/warden-bench loops

## fuzz: every parser under libFuzzer + AddressSanitizer for FUZZ_SECONDS each.
fuzz: deps
	bash Tests/Scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-fuzz $(OUT)
