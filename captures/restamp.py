#!/usr/bin/python3
"""Give single packets of a microsecond pcap file another time, as a broken capture clock does.

    restamp.py SOURCE.pcap OUT.pcap FRAME=SECONDS [FRAME=SECONDS ...]

FRAME is 1-based (as Wireshark numbers frames); SECONDS is the new stamp, seconds since the epoch
(microseconds kept). Everything else is copied byte for byte.
"""

import struct
import sys


def main():
    source, target, *edits = sys.argv[1:]
    stamps = {int(f): int(s) for f, s in (e.split("=") for e in edits)}
    with open(source, "rb") as f:
        data = bytearray(f.read())
    end = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(bytes(data[:4]))
    if end is None:
        sys.exit(f"restamp.py: {source} is not a microsecond pcap file")
    off, frame = 24, 0
    while off + 16 <= len(data):
        frame += 1
        if frame in stamps:
            struct.pack_into(end + "I", data, off, stamps.pop(frame))
        caplen = struct.unpack_from(end + "I", data, off + 8)[0]
        off += 16 + caplen
    if stamps:
        sys.exit(f"restamp.py: {source} has no frame {min(stamps)}")
    with open(target, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
