#!/usr/bin/env python3
"""make bench: plainsight beside tcpdump (the libpcap floor) and cat (the I/O floor) on the same
large capture, in one run. Prints wall time, MB/s and peak RSS, ratios to tcpdump, and pass/fail
for the targets (plainsight >= 0.5x tcpdump's throughput, peak RSS < 256 MiB)."""

import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/plainsight")
SIZE_MB = int(os.environ.get("BENCH_MB", "256"))
CAPTURE = os.path.join(ROOT, "bench-data", f"bench-{SIZE_MB}.pcap")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def measure(argv):
    """Best wall time of RUNS runs, and the largest peak RSS (KiB) seen. Peak RSS comes from GNU
    time: a child forked from this Python process would carry Python's own size in its peak."""
    best, rss = None, 0
    for _ in range(RUNS):
        with open(os.devnull, "wb") as devnull:
            start = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M"] + argv, stdout=devnull, stderr=subprocess.PIPE, text=True
            )
            wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"bench: {' '.join(argv)} failed: {proc.stderr.strip()}")
        best = wall if best is None else min(best, wall)
        rss = max(rss, int(proc.stderr.strip().splitlines()[-1]))
    return best, rss


def make_capture(path, size_mb, sources=()):
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(
            ["cargo", "run", "--release", "--quiet", "--example", "make_bench_capture", "--", path, str(size_mb), *sources],
            check=True,
        )


def tls_bench():
    """The same TLS-heavy capture without and with its key log: the cost of decryption."""
    path = os.path.join(ROOT, "bench-data", "bench-tls-64.pcap")
    keys = os.path.join(ROOT, "captures", "tls-openssl.keys")
    make_capture(path, 64, ["captures/tls-openssl.pcapng"])
    mb = os.path.getsize(path) / 1e6
    print(f"\nTLS-heavy capture: {path} ({mb:.0f} MB)")
    for name, argv in [
        ("plainsight (no key log)", [BIN, "report", "--json", path]),
        ("plainsight --keylog", [BIN, "report", "--json", "--keylog", keys, path]),
    ]:
        wall, rss = measure(argv)
        print(f"{name:<28} {wall:>8.3f} {mb / wall:>8.0f} MB/s {rss / 1024:>7.1f} MiB")


def main():
    os.chdir(ROOT)
    make_capture(CAPTURE, SIZE_MB)
    size = os.path.getsize(CAPTURE)
    mb = size / 1e6
    tools = [("cat (I/O floor)", ["cat", CAPTURE])]
    if shutil.which("tcpdump"):
        tools.append(("tcpdump -r -w /dev/null", ["tcpdump", "-r", CAPTURE, "-w", "/dev/null"]))
    tools.append(("plainsight report --json", [BIN, "report", "--json", CAPTURE]))
    subprocess.run(["cat", CAPTURE], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    results = {}
    print(f"capture: {CAPTURE} ({mb:.0f} MB), best of {RUNS} runs each")
    print(f"{'tool':<28} {'seconds':>8} {'MB/s':>8} {'peak RSS':>10} {'vs tcpdump':>11}")
    for name, argv in tools:
        wall, rss = measure(argv)
        results[name] = (wall, rss)
    base = results.get("tcpdump -r -w /dev/null")
    for name, (wall, rss) in results.items():
        ratio = f"{base[0] / wall:.2f}x" if base else "-"
        print(f"{name:<28} {wall:>8.3f} {mb / wall:>8.0f} {rss / 1024:>7.1f} MiB {ratio:>11}")
    ps_wall, ps_rss = results["plainsight report --json"]
    ok = True
    if base:
        ratio = base[0] / ps_wall
        verdict = "PASS" if ratio >= 0.5 else "FAIL"
        ok &= verdict == "PASS"
        print(f"{verdict}: plainsight throughput is {ratio:.2f}x tcpdump's (target >= 0.5x)")
    verdict = "PASS" if ps_rss < 256 * 1024 else "FAIL"
    ok &= verdict == "PASS"
    print(f"{verdict}: plainsight peak RSS {ps_rss / 1024:.1f} MiB (target < 256 MiB)")
    tls_bench()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
