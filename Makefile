# plainsight — the two commands that matter: `make demo` and `make test`.
# Both first install what is missing (with apt when root, otherwise they print the exact command).

CARGO ?= cargo
# System packages. The demo needs only libpcap (live capture and BPF) and pkg-config to build:
# on a classroom laptop `make demo` installs nothing more. The tests also need tcpdump, tshark
# (the oracle; editcap, capinfos), python3 and GNU time (the benchmark), tmux (the terminal
# tests), curl and openssl (real clients), chromium (headless, the browser and handout tests) and
# poppler-utils (pdftoppm, pdftotext: the printed handout).
DEMO_PACKAGES := libpcap-dev pkg-config
TEST_PACKAGES := $(DEMO_PACKAGES) tcpdump tshark python3 python3-venv tmux curl openssl time chromium poppler-utils testssl.sh
# Python packages for the tests, in a venv under target/: pylsqpack, the QPACK encoder the decoder
# is checked against (captures/make-quic-captures.sh adds aioquic to the same venv).
PY_VENV := target/quic-venv
PY_PACKAGES := pylsqpack==1.0.0
BIN := target/release/plainsight

.PHONY: all deps deps-test build demo test bench clean fmt lint captures fuzz-smoke check-portable

all: build

deps:
	@bash scripts/deps.sh $(DEMO_PACKAGES)

deps-test:
	@bash scripts/deps.sh $(TEST_PACKAGES)

build: deps
	$(CARGO) build --release --locked
	$(CARGO) run --release --locked --quiet --example gen_docs -- target/doc-gen

demo: build
	$(BIN) demo

$(PY_VENV)/.installed:
	python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install -q $(PY_PACKAGES)
	touch $@

# Every test; then the build without libpcap (the `live` feature off, as on a laptop without it)
# runs the tests of what it keeps (demo, replay, report, the handout's page) and says plainly that
# live capture and filters need libpcap. Its own target directory keeps the two builds apart.
NOLIVE_TESTS := --test without_libpcap --test demo --test ui --test cli --test credentials --test engine --test tls --test quic
test: deps-test $(PY_VENV)/.installed
	$(CARGO) test --locked
	$(CARGO) test --locked --no-default-features --target-dir target/nolive $(NOLIVE_TESTS)

# Proof that the laptops students bring can build it: Windows (x86_64-pc-windows-gnu, with the
# MinGW cross-compiler for the crates that build C) checked and linted with and without live
# capture. macOS needs Apple's SDK to cross-check; its code path is the Unix one Linux shares.
WINDOWS := x86_64-pc-windows-gnu
check-portable:
	@bash scripts/deps.sh gcc-mingw-w64-x86-64
	rustup target add $(WINDOWS)
	$(CARGO) check --locked --target $(WINDOWS) --target-dir target/portable --lib --bins --examples
	$(CARGO) check --locked --target $(WINDOWS) --target-dir target/portable --lib --bins --examples --no-default-features
	$(CARGO) clippy --locked --target $(WINDOWS) --target-dir target/portable --lib --bins --examples -- -D warnings
	$(CARGO) clippy --locked --target $(WINDOWS) --target-dir target/portable --lib --bins --examples --no-default-features -- -D warnings

bench: deps-test build
	$(CARGO) bench --locked --bench engine --bench decrypt -- --noplot
	python3 scripts/bench.py $(BIN)

fmt:
	$(CARGO) fmt

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf bench-data

# Regenerates the bundled captures (root; talks to loopback only). Review the golden diffs after.
captures: deps-test
	@bash scripts/deps.sh $$(cat captures/apt-packages.txt)
	bash captures/make-captures.sh
	bash captures/make-cred-captures.sh
	bash captures/make-encap-captures.sh
	bash captures/make-device-captures.sh
	bash captures/make-cert-captures.sh

# Coverage-guided fuzzing (cargo-fuzz, libFuzzer). The machine has a stable toolchain only:
# RUSTC_BOOTSTRAP lets it build the fuzz targets without a sanitizer. FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 20
fuzz-smoke:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in packets streams reassembly decrypt pipeline wire quic certificates html split handout; do \
		mkdir -p fuzz/corpus/$$t; \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none -O $$t fuzz/corpus/$$t $$(ls -d fuzz/seeds/$$t 2>/dev/null) -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 || exit 1; \
	done
