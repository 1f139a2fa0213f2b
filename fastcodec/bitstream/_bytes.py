"""Byte-level helpers of the container: LEB128 varints and a bounds-checked reader."""
from fastcodec.errors import BitstreamError

#: a varint holds at most 5 bytes (35 bits)
VARINT_MAX_BYTES = 5


def varint(n):
    """Unsigned LEB128 of n (0 <= n < 2**35)."""
    if n < 0 or n >= 1 << (7 * VARINT_MAX_BYTES):
        raise ValueError(f"varint out of range: {n}")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Reader:
    """Reads fields from a bytes-like object; every read past the end is a BitstreamError."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n, what):
        if self.pos + n > len(self.data):
            raise BitstreamError(f"truncated container: {what} needs {n} bytes at offset {self.pos}, "
                                 f"{len(self.data)} in all")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(out)

    def byte(self, what):
        return self.take(1, what)[0]

    def varint(self, what):
        value = 0
        for shift in range(0, 7 * VARINT_MAX_BYTES, 7):
            b = self.byte(what)
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
        raise BitstreamError(f"invalid container: {what} is longer than {VARINT_MAX_BYTES} bytes")
