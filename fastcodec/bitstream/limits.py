"""Size limits checked against a header before any allocation (a decompression-bomb guard, like
Pillow's MAX_IMAGE_PIXELS). Change them with fastcodec.bitstream.default_limits.max_pixels = ..."""
from dataclasses import dataclass


@dataclass
class Limits:
    max_pixels: int = 89_478_485      # Pillow's default MAX_IMAGE_PIXELS
    max_side: int = 65_535
    max_streams: int = 16
    max_stream_bytes: int = 1 << 30


default_limits = Limits()
