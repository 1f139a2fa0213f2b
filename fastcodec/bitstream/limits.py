"""Size and memory limits checked against a header before any allocation (a decompression-bomb guard,
like Pillow's MAX_IMAGE_PIXELS). Change them with fastcodec.bitstream.default_limits.max_memory = ...

A learned decoder's memory grows with the pixel count whatever the payload size (a few bytes of
rANS can announce an all-zero latent of any size). The transforms run tile by tile
(fastcodec.models.tiles), so their working set is at most about tile_memory; what grows with the
image is the image itself and its latents (about 24 bytes per pixel for the shipped models). A
decode or encode whose estimate (the model's coding_memory) exceeds max_memory is refused before it
starts: the default 4 GiB admits about 120 megapixels. max_pixels and max_side bound what a header
may announce at all, for any model."""
from dataclasses import dataclass


@dataclass
class Limits:
    max_pixels: int = 1 << 30         # 1,073,741,824 pixels: what a header may announce at all
    max_memory: int = 4 << 30         # bytes a coding may take (the model's coding_memory estimate)
    tile_memory: int = 1 << 30        # bytes of transform working set per tile
    max_side: int = 65_535
    max_streams: int = 64
    max_stream_bytes: int = 1 << 30


default_limits = Limits()
