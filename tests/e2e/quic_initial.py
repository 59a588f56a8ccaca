"""quic_initial.py NAME DIR: two QUIC v1 client Initials (RFC 9000 17.2.2, protected as
RFC 9001 5 says, with python3-cryptography) of one connection whose ClientHello, made
too big for one packet by a padding extension (as post-quantum key shares make real
ones), names NAME near its end; DIR/p1.bin carries the second half of the CRYPTO
stream (the name), DIR/p2.bin the first, the order a client that spreads its CRYPTO
frames (Chrome) may send them in. Only the two together name the server."""
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def extract(salt, ikm):
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def expand_label(secret, label, length):
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def varint(n):
    return struct.pack(">H", 0x4000 | n)


def client_hello(name, pad):
    sni = name.encode()
    ext_sni = struct.pack(">HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    ext_pad = struct.pack(">HH", 21, pad) + bytes(pad)
    exts = ext_pad + ext_sni
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def initial(dcid, pn, frames):
    secret = expand_label(extract(SALT, dcid), b"client in", 32)
    key, iv, hp = (expand_label(secret, b"quic key", 16), expand_label(secret, b"quic iv", 12),
                   expand_label(secret, b"quic hp", 16))
    payload = frames + bytes(max(0, 1162 - len(frames)))  # PADDING frames to 1200 bytes
    pn_bytes = struct.pack(">I", pn)
    header = (b"\xc3\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + b"\x00\x00" +
              varint(len(pn_bytes) + len(payload) + 16) + pn_bytes)
    nonce = bytes(a ^ b for a, b in zip(iv, bytes(8) + pn_bytes))
    ct = AESGCM(key).encrypt(nonce, payload, header)
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(ct[:16]) + enc.finalize()
    h = bytearray(header)
    h[0] ^= mask[0] & 0x0F
    for i in range(4):
        h[len(header) - 4 + i] ^= mask[1 + i]
    return bytes(h) + ct


name, out = sys.argv[1], sys.argv[2]
ch = client_hello(name, 1300)
dcid = os.urandom(8)
k = len(ch) // 2
crypto = lambda off, data: b"\x06" + varint(off) + varint(len(data)) + data
open(os.path.join(out, "p1.bin"), "wb").write(initial(dcid, 0, crypto(k, ch[k:])))
open(os.path.join(out, "p2.bin"), "wb").write(initial(dcid, 1, crypto(0, ch[:k])))
