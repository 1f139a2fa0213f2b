"""Size limits checked against a header before any allocation (a decompression-bomb guard, like
Pillow's MAX_IMAGE_PIXELS). Change them with fastcodec.bitstream.default_limits.max_pixels = ...

A learned decoder's memory grows with the pixel count whatever the payload size (a few bytes of
rANS can announce an all-zero latent of any size): the synthesis transform holds 128 channels at
half resolution, about 64 bytes per pixel in float32 (32 in bf16), so the default of 2^25 pixels
(e.g. 8192 x 4096) bounds a decode to a few GB."""
from dataclasses import dataclass


@dataclass
class Limits:
    max_pixels: int = 1 << 25         # 33,554,432 pixels
    max_side: int = 65_535
    max_streams: int = 64
    max_stream_bytes: int = 1 << 30


default_limits = Limits()
