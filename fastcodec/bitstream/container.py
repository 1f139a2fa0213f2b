"""Reading and writing containers: version 2 is written; versions 1 and 2 are read (docs/bitstream.md).
A reader checks magic, version, limits (before any allocation), lengths and checksums, and raises
BitstreamError otherwise."""
from fastcodec.bitstream import v1, v2
from fastcodec.bitstream._bytes import Reader
from fastcodec.bitstream.header import (COLOR_GRAY, COLOR_RGB, COLOR_RGBA, MAGIC, RATE_CONTINUOUS, RATE_QUALITY,
                                        RATE_STEPS, Header, Rate, model_id)
from fastcodec.bitstream.limits import default_limits
from fastcodec.errors import BitstreamError

#: the version pack() writes
FORMAT_VERSION = v2.VERSION
READABLE_VERSIONS = (v1.VERSION, v2.VERSION)
_FORMATS = {v1.VERSION: v1, v2.VERSION: v2}


def pack(model_id_bytes, rate, height, width, color, streams, progressive=False):
    """Container bytes (the current version) holding `streams` (list of bytes, alpha first when
    color is COLOR_RGBA). rate: a Rate, or a number (a quality)."""
    if not isinstance(rate, Rate):
        rate = Rate(RATE_QUALITY, float(rate))
    return v2.pack(model_id_bytes, rate, height, width, color, streams, progressive)


def _size_check(limits):
    def check(height, width):
        if not (1 <= height <= limits.max_side and 1 <= width <= limits.max_side):
            raise BitstreamError(f"image size {height}x{width} outside [1, {limits.max_side}]")
        if height * width > limits.max_pixels:
            raise BitstreamError(f"image of {height * width} pixels exceeds the limit of {limits.max_pixels} "
                                 "(fastcodec.bitstream.default_limits.max_pixels)")
    return check


def read_header(data, limits=None):
    """Parses and checks the header only (the payload is not read): for `fastcodec info`."""
    limits = limits or default_limits
    r = Reader(memoryview(data))
    if r.take(4, "magic") != MAGIC:
        raise BitstreamError("not a fastcodec container (bad magic)")
    version = r.byte("version")
    fmt = _FORMATS.get(version)
    if fmt is None:
        raise BitstreamError(f"container format version {version} is not supported "
                             f"(this reader knows {', '.join(map(str, READABLE_VERSIONS))})")
    return fmt.read_header(r, limits, _size_check(limits))


def _as_bytes(data):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
    return bytes(data)


def unpack(data, limits=None):
    """(Header, [stream bytes]) after checking lengths and checksums; BitstreamError otherwise. A
    progressive container cut short returns the streams it holds whole."""
    data = _as_bytes(data)
    header = read_header(data, limits)
    return header, _FORMATS[header.version].split(data, header)


def split_streams(header, streams):
    """(the model's streams, the alpha plane's stream or None) of unpack()'s streams."""
    if header.color != COLOR_RGBA:
        return list(streams), None
    if header.version == v1.VERSION:
        return list(streams[:-1]), streams[-1]
    return list(streams[1:]), streams[0]


def truncate(data, steps, limits=None):
    """A progressive container cut to its first `steps` model streams, as a whole valid file with
    its header rewritten (a plain byte cut also decodes, to the streams it holds whole)."""
    data = _as_bytes(data)
    header, streams = unpack(data, limits)
    if not header.progressive:
        raise ValueError("data is not a progressive container: only those can be truncated")
    return v2.truncate(header, streams, steps)


__all__ = ["COLOR_GRAY", "COLOR_RGB", "COLOR_RGBA", "FORMAT_VERSION", "Header", "MAGIC", "RATE_CONTINUOUS",
           "RATE_QUALITY", "RATE_STEPS", "READABLE_VERSIONS", "Rate", "model_id", "pack", "read_header",
           "split_streams", "truncate", "unpack"]
