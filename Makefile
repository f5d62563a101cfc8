# Warden — the two set-up commands of a fresh machine are `make run` and `make test`
# (see README.md). Both install the Debian packages they need first.

SHELL := /bin/bash
SWIFT ?= swift
# C libraries Warden links, and the real tools its tests drive.
DEBIAN_PACKAGES := pkg-config libtss2-dev libssl-dev libsqlite3-dev libarchive-dev \
	swtpm swtpm-tools tpm2-tools openssl python3 cpio tar gzip iproute2
FUZZ_SECONDS ?= 60
OUT := out

.PHONY: run test deps build bench fuzz clean

## run: build Warden and run its main job on its defaults: a fresh software TPM quotes
## its PCRs and replays a measured-boot log into them; Warden verifies all of it.
run: deps
	$(SWIFT) build -c release --product warden
	@rm -rf $(OUT)/demo && mkdir -p $(OUT)
	bash Tests/Scripts/make-swtpm-evidence.sh $(OUT)/demo
	.build/release/warden eventlog show $(OUT)/demo/eventlog.bin | tail -n 25
	.build/release/warden quote verify --ak-public $(OUT)/demo/ak_rsa.pub \
		--message $(OUT)/demo/quote_log.msg --signature $(OUT)/demo/quote_log.sig \
		--pcrs $(OUT)/demo/quote_log.pcrs --nonce $$(cat $(OUT)/demo/quote_log.nonce) \
		--eventlog $(OUT)/demo/eventlog.bin

## test: the whole test suite (what .ci/run calls).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

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
bench: deps
	$(SWIFT) build -c release --product warden
	taskset -c 0 .build/release/warden bench verify

## fuzz: every parser under libFuzzer + AddressSanitizer for FUZZ_SECONDS each.
fuzz: deps
	bash Tests/Scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-fuzz $(OUT)
