#!/usr/bin/env python3
"""mkdex OUT STRING...: writes a minimal, valid DEX file (format 035) whose string
table holds the given ASCII strings: header, string_ids, string_data and map_list,
with the Adler-32 checksum and SHA-1 signature the format requires. Debian has no dx
or d8, so the tests make their dex files with this and check each with dexdump."""
import hashlib
import struct
import sys
import zlib


def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mkdex(strings):
    strings = sorted(set(strings))
    n = len(strings)
    ids_off = 0x70
    data_off = ids_off + 4 * n
    data = bytearray()
    offsets = []
    for s in strings:
        offsets.append(data_off + len(data))
        b = s.encode("ascii")
        data += uleb(len(b)) + b + b"\0"
    while len(data) % 4:
        data += b"\0"
    map_off = data_off + len(data)
    items = [(0x0000, 1, 0), (0x0001, n, ids_off), (0x2002, n, data_off), (0x1000, 1, map_off)]
    data += struct.pack("<I", len(items))
    for t, size, off in items:
        data += struct.pack("<HHII", t, 0, size, off)
    file_size = data_off + len(data)
    ids = b"".join(struct.pack("<I", o) for o in offsets)
    header = bytearray(0x70)
    header[0:8] = b"dex\n035\0"
    struct.pack_into("<IIIIII", header, 32, file_size, 0x70, 0x12345678, 0, 0, map_off)
    struct.pack_into("<II", header, 56, n, ids_off)  # string_ids
    # type, proto, field, method ids and class defs: none
    struct.pack_into("<II", header, 104, len(data), data_off)
    body = bytearray(header + ids + data)
    body[12:32] = hashlib.sha1(bytes(body[32:])).digest()
    struct.pack_into("<I", body, 8, zlib.adler32(bytes(body[12:])) & 0xFFFFFFFF)
    return bytes(body)


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as f:
        f.write(mkdex(sys.argv[2:]))
