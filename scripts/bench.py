#!/usr/bin/env python3
"""make bench: plainsight beside cat (the I/O floor), tcpdump (the libpcap floor) and tshark's
credentials tap on the same large capture built from every bundled capture, in one run. Prints wall
time, MB/s and peak RSS, ratios to tcpdump, and pass/fail for each target:
  plainsight -j 1 >= 0.5x tcpdump's throughput and >= 20x tshark's, peak RSS < 256 MiB,
  plainsight on all cores (the one file split over them) >= 0.8x tcpdump's, the same output,
  peak RSS at 100 MB and at 2 GB of capture within 10% of each other,
and the speed-up of `report -j 2` over `-j 1` on the same capture split into 64 MB files; runs
with `--payloads` beside those without show what the bytes of every stream cost; the TLS-heavy
capture without and with its key log, on one core and on all.
BENCH_MB sets the main capture's size, BENCH_RUNS the runs per tool (best kept), BENCH_BIG=0 skips
the 2 GB memory check."""

import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/plainsight")
SIZE_MB = int(os.environ.get("BENCH_MB", "512"))
CAPTURE = os.path.join(ROOT, "bench-data", f"bench-{SIZE_MB}.pcap")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CORES = os.cpu_count() or 1


def measure(argv, runs=None):
    """Best wall time of RUNS runs, and the largest peak RSS (KiB) seen. Peak RSS comes from GNU
    time: a child forked from this Python process would carry Python's own size in its peak."""
    best, rss = None, 0
    for _ in range(runs or RUNS):
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
    """The same TLS-heavy capture without and with its key log (the cost of decryption), on one
    core and on all, beside tcpdump."""
    path = os.path.join(ROOT, "bench-data", "bench-tls-64.pcap")
    keys = os.path.join(ROOT, "captures", "tls-openssl.keys")
    make_capture(path, 64, ["captures/tls-openssl.pcapng"])
    mb = os.path.getsize(path) / 1e6
    print(f"\nTLS-heavy capture: {path} ({mb:.0f} MB)")
    runs = []
    if shutil.which("tcpdump"):
        runs.append(("tcpdump -r -w /dev/null", ["tcpdump", "-r", path, "-w", "/dev/null"]))
    runs += [
        ("plainsight -j 1 (no keys)", [BIN, "report", "--json", "-j", "1", path]),
        ("plainsight -j 1 --keylog", [BIN, "report", "--json", "-j", "1", "--keylog", keys, path]),
        (f"plainsight -j {CORES} --keylog", [BIN, "report", "--json", "-j", str(CORES), "--keylog", keys, path]),
    ]
    base = None
    for name, argv in runs:
        wall, rss = measure(argv)
        base = base or (wall if name.startswith("tcpdump") else None)
        ratio = f"{base / wall:.2f}x" if base else "-"
        print(f"{name:<28} {wall:>8.3f} {mb / wall:>8.0f} {rss / 1024:>7.1f} MiB {ratio:>11}")


def output_digest(argv):
    """SHA-256 of what a command prints."""
    import hashlib

    digest = hashlib.sha256()
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verdict(ok, text):
    print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return ok


def split_capture(path, part_mb):
    """The capture cut into files of part_mb MB, as `tcpdump -C` rotates a long capture."""
    folder = os.path.join(ROOT, "bench-data", f"split-{part_mb}")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        user = ["-Z", os.environ.get("USER") or "root"] if os.geteuid() == 0 else []
        subprocess.run(
            ["tcpdump", *user, "-r", path, "-w", os.path.join(folder, "part"), "-C", str(part_mb)],
            check=True, stderr=subprocess.DEVNULL,
        )
    names = sorted(os.listdir(folder), key=lambda n: (len(n), n))
    return [os.path.join(folder, n) for n in names]


def parallel_bench(path, mb):
    """report over many files, one core then two: the same output, and the speed-up."""
    if not shutil.which("tcpdump"):
        return True
    parts = split_capture(path, 64)
    print(f"\nThe same capture as {len(parts)} files of 64 MB (report --json FILE...):")
    walls = {}
    for jobs in (1, 2):
        wall, rss = measure([BIN, "report", "--json", "-j", str(jobs), *parts])
        walls[jobs] = wall
        print(f"{'-j ' + str(jobs):<28} {wall:>8.3f} {mb / wall:>8.0f} {rss / 1024:>7.1f} MiB")
    speedup = walls[1] / walls[2]
    cores = os.cpu_count() or 1
    print(f"speed-up with 2 jobs: {speedup:.2f}x on {cores} cores")
    return True


def memory_bench():
    """Peak RSS at 100 MB and at 2 GB of capture: memory must not grow with the capture."""
    sizes = [100, 2048]
    peaks = []
    print("\nPeak memory against capture size (report --json):")
    for size in sizes:
        path = os.path.join(ROOT, "bench-data", f"bench-{size}.pcap")
        make_capture(path, size)
        wall, rss = measure([BIN, "report", "--json", path], runs=1)
        peaks.append(rss)
        print(f"{size:>6} MB  {wall:>8.3f} s  {rss / 1024:>7.1f} MiB")
    spread = max(peaks) / min(peaks) - 1
    return verdict(spread <= 0.10, f"peak RSS at 100 MB and 2 GB differ by {spread * 100:.1f}% (target <= 10%)")


def main():
    os.chdir(ROOT)
    make_capture(CAPTURE, SIZE_MB)
    size = os.path.getsize(CAPTURE)
    mb = size / 1e6
    tools = [("cat (I/O floor)", ["cat", CAPTURE], None)]
    if shutil.which("tcpdump"):
        tools.append(("tcpdump -r -w /dev/null", ["tcpdump", "-r", CAPTURE, "-w", "/dev/null"], None))
    if shutil.which("tshark"):
        # tshark runs at a few tens of MB/s: one run is enough to compare.
        tools.append(("tshark -q -z credentials", ["tshark", "-r", CAPTURE, "-q", "-z", "credentials"], 1))
    one, all_cores = "plainsight -j 1", f"plainsight -j {CORES} (one file)"
    tools.append((one, [BIN, "report", "--json", "-j", "1", CAPTURE], None))
    tools.append((all_cores, [BIN, "report", "--json", "-j", str(CORES), CAPTURE], None))
    # The bytes of every stream too (the wire view's data): costs output, not analysis.
    tools.append(("plainsight -j 1 --payloads", [BIN, "report", "--json", "-j", "1", "--payloads", CAPTURE], None))
    tools.append((f"plainsight -j {CORES} --payloads", [BIN, "report", "--json", "-j", str(CORES), "--payloads", CAPTURE], None))
    subprocess.run(["cat", CAPTURE], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    results = {}
    print(f"capture: {CAPTURE} ({mb:.0f} MB), best of {RUNS} runs each (tshark: one)")
    print(f"{'tool':<28} {'seconds':>8} {'MB/s':>8} {'peak RSS':>10} {'vs tcpdump':>11}")
    for name, argv, runs in tools:
        results[name] = measure(argv, runs)
    base = results.get("tcpdump -r -w /dev/null")
    for name, (wall, rss) in results.items():
        ratio = f"{base[0] / wall:.2f}x" if base else "-"
        print(f"{name:<28} {wall:>8.3f} {mb / wall:>8.0f} {rss / 1024:>7.1f} MiB {ratio:>11}")
    ps_wall, ps_rss = results[one]
    all_wall, all_rss = results[all_cores]
    ok = True
    if base:
        ratio = base[0] / ps_wall
        ok &= verdict(ratio >= 0.5, f"plainsight -j 1 throughput is {ratio:.2f}x tcpdump's (target >= 0.5x)")
        ratio = base[0] / all_wall
        ok &= verdict(ratio >= 0.8, f"plainsight on {CORES} cores is {ratio:.2f}x tcpdump's (target >= 0.8x); {ps_wall / all_wall:.2f}x -j 1")
    same = output_digest([BIN, "report", "--json", "-j", "1", CAPTURE]) == output_digest(
        [BIN, "report", "--json", "-j", str(CORES), CAPTURE]
    )
    ok &= verdict(same, f"-j 1 and -j {CORES} print the same bytes")
    tshark = results.get("tshark -q -z credentials")
    if tshark:
        ratio = tshark[0] / ps_wall
        ok &= verdict(ratio >= 20, f"plainsight throughput is {ratio:.1f}x tshark's (target >= 20x)")
    peak = max(ps_rss, all_rss)
    ok &= verdict(peak < 256 * 1024, f"plainsight peak RSS {peak / 1024:.1f} MiB (target < 256 MiB)")
    parallel_bench(CAPTURE, mb)
    if os.environ.get("BENCH_BIG", "1") != "0":
        ok &= memory_bench()
    tls_bench()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
