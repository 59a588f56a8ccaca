#!/usr/bin/env python3
"""abx_write.py XML_IN ABX_OUT: encode a text XML file as Android Binary XML (ABX),
the way AOSP's BinaryXmlSerializer does, for tests of the agent's ABX reader on files
the test makes itself. Attribute values that look like the typed attributes Android
writes are encoded typed (it/ut/ft as long hex, version/flags/userId as int, true and
false as booleans); everything else as interned strings."""
import struct
import sys
import xml.etree.ElementTree as ET

START_DOCUMENT, END_DOCUMENT, START_TAG, END_TAG, TEXT, ATTRIBUTE = 0, 1, 2, 3, 4, 15
T_STRING, T_INTERNED, T_INT, T_LONG_HEX, T_TRUE, T_FALSE = 2, 3, 6, 9, 12, 13

HEX_LONG = {"it", "ut", "ft", "first-install-time"}
INTS = {"version", "flags", "userId", "sharedUserId", "pkgFlags"}


class Writer:
    def __init__(self):
        self.out = bytearray(b"ABX\0")
        self.interned = {}

    def utf(self, s):
        b = s.encode("utf-8")
        self.out += struct.pack(">H", len(b)) + b

    def intern(self, s):
        if s in self.interned:
            self.out += struct.pack(">H", self.interned[s])
        else:
            self.interned[s] = len(self.interned)
            self.out += struct.pack(">H", 0xFFFF)
            self.utf(s)

    def attr(self, k, v):
        if k in HEX_LONG:
            self.out.append(ATTRIBUTE | T_LONG_HEX << 4)
            self.intern(k)
            self.out += struct.pack(">q", int(v, 16))
        elif k in INTS and v.lstrip("-").isdigit():
            self.out.append(ATTRIBUTE | T_INT << 4)
            self.intern(k)
            self.out += struct.pack(">i", int(v))
        elif v in ("true", "false"):
            self.out.append(ATTRIBUTE | (T_TRUE if v == "true" else T_FALSE) << 4)
            self.intern(k)
        else:
            self.out.append(ATTRIBUTE | T_INTERNED << 4)
            self.intern(k)
            self.intern(v)

    def element(self, e):
        self.out.append(START_TAG | T_INTERNED << 4)
        self.intern(e.tag)
        for k, v in e.attrib.items():
            self.attr(k, v)
        if e.text and e.text.strip():
            self.out.append(TEXT | T_STRING << 4)
            self.utf(e.text)
        for c in e:
            self.element(c)
        self.out.append(END_TAG | T_INTERNED << 4)
        self.intern(e.tag)


def main():
    w = Writer()
    w.out.append(START_DOCUMENT | 1 << 4)
    w.element(ET.parse(sys.argv[1]).getroot())
    w.out.append(END_DOCUMENT | 1 << 4)
    open(sys.argv[2], "wb").write(w.out)


if __name__ == "__main__":
    main()
