#!/usr/bin/env bash
# Build the damaged / odd capture files in tests/data/ from captures/*.pcap.
# Needs only python3; no root.  Run from any directory:
#
#     captures/make-test-data.sh
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
mkdir -p "$REPO/tests/data"

python3 - "$SCRIPT_DIR" "$REPO/tests/data" <<'EOF'
import os, struct, sys

src_dir, out_dir = sys.argv[1], sys.argv[2]

LE_MAGIC = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")   # usec, nsec
BE_MAGIC = (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")

def endian(data):
    if data[:4] in LE_MAGIC:
        return "<"
    if data[:4] in BE_MAGIC:
        return ">"
    raise SystemExit("not a classic pcap file")

def records(data):
    """Return [(offset, caplen)] for each record of a classic pcap file."""
    e, off, out = endian(data), 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack_from(e + "I", data, off + 8)[0]
        out.append((off, caplen))
        off += 16 + caplen
    if off != len(data):
        raise SystemExit(f"trailing bytes at {off}")
    return out

def write(name, blob):
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(blob)
    print(f"    wrote tests/data/{name} ({len(blob)} bytes)")

with open(os.path.join(src_dir, "http-ipv4.pcap"), "rb") as f:
    good = f.read()
recs = list(records(good))
e = endian(good)

# truncated.pcap: the file ends in the middle of the 5th-from-last record's
# packet data.
n = len(recs) - 5
rec_off, caplen = recs[n]
cut = rec_off + 16 + caplen // 2
write("truncated.pcap", good[:cut])
print(f"    truncated.pcap: record #{n + 1} of {len(recs)} (1-based) starts at "
      f"byte {rec_off}, caplen {caplen}; file cut at byte {cut} "
      f"({cut - rec_off - 16} of {caplen} data bytes kept); "
      f"{n} complete records before it")

# garbage-tail.pcap: complete file + 100 bytes of garbage whose first 16 bytes
# look like a record header with caplen 0xFFFFFFF0.
hdr = struct.pack(e + "IIII", 0xABABABAB, 0xABABABAB, 0xFFFFFFF0, 0xABABABAB)
garbage = hdr + b"\xab" * (100 - len(hdr))
write("garbage-tail.pcap", good + garbage)
print(f"    garbage-tail.pcap: {len(recs)} good records, garbage starts at byte "
      f"{len(good)} and runs to {len(good) + len(garbage)}")

# unsupported-link.pcap: link type 147 (DLT_USER0), 3 packets.
blob = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147)
for i, payload in enumerate([b"plainsight user0 packet one",
                             bytes(range(64)),
                             b"\x00\xff" * 10]):
    blob += struct.pack("<IIII", 1700000000 + i, 1000 * i, len(payload), len(payload))
    blob += payload
write("unsupported-link.pcap", blob)

write("not-a-capture.txt", b"this is not a capture\n")
EOF
