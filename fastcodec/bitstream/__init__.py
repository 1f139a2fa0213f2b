"""The fastcodec container (docs/bitstream.md): versions 1 and 2 read, version 2 written. Pure
Python, no torch."""
from fastcodec.bitstream.container import (
    COLOR_GRAY,
    COLOR_RGB,
    COLOR_RGBA,
    FORMAT_VERSION,
    MAGIC,
    RATE_CONTINUOUS,
    RATE_QUALITY,
    RATE_STEPS,
    READABLE_VERSIONS,
    Header,
    Rate,
    model_id,
    pack,
    read_header,
    split_streams,
    truncate,
    unpack,
)
from fastcodec.bitstream.limits import Limits, default_limits

__all__ = ["COLOR_GRAY", "COLOR_RGB", "COLOR_RGBA", "FORMAT_VERSION", "Header", "Limits", "MAGIC", "RATE_CONTINUOUS",
           "RATE_QUALITY", "RATE_STEPS", "READABLE_VERSIONS", "Rate", "default_limits", "model_id", "pack",
           "read_header", "split_streams", "truncate", "unpack"]
