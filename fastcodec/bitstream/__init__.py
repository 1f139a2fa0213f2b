"""The fastcodec container (format version 1, docs/bitstream.md): pure Python, no torch."""
from fastcodec.bitstream.container import (
    FORMAT_VERSION,
    MAGIC,
    Header,
    pack,
    read_header,
    unpack,
)
from fastcodec.bitstream.limits import Limits, default_limits

__all__ = ["FORMAT_VERSION", "MAGIC", "Header", "Limits", "default_limits", "pack", "read_header", "unpack"]
