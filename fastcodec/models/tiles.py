"""Tile-wise analysis and synthesis: the transforms of a large image run over tiles with halos, so
their working memory is bounded by a tile's, not the image's, and the result is identical to the
whole-image transform, bit for bit.

Why exact: every layer of g_a and g_s is a convolution (5x5, stride 2) or acts per position (GDN,
LeakyReLU), so an output depends on a bounded window of the input. In latent cells (16x16 pixels):
the latent of cell r reads pixels 16r - 30 .. 16r + 30 (4 layers: 2 + 2*2 + 4*2 + 8*2), i.e. 2 cells
above and 1 below; a pixel of cell r is made from latents r - 1 .. r + 2. A HALO of 2 cells on each
side of a tile therefore holds all of it; the halo's outputs, which the tile's edge (zero padding where the
whole image has values) makes wrong, are cut away. Tiles start at multiples of ALIGN cells, so every
layer sees its input on the same stride-2 grid (and the same even offsets that blocked kernels like
the Winograd one tile by) as in the whole image. tests/test_tiles.py checks equality, and that a
halo of 1 unaligned cell is not enough.

The price is the halo, computed twice: tiles start at multiples of ALIGN and so does the halo before
them (4 cells; 2 after), so (t + 6)^2 / t^2 - 1 more work for tiles of t x t cells (20 % at t = 64,
i.e. 1024 x 1024 pixels; 15 % for the 84-cell tiles of the default budget), and nothing for an
image that fits one tile."""
import math

import torch

#: latent cells of context each side of a tile (g_a needs 2 before, g_s 2 after; 1 is measurably wrong)
HALO = 2
#: tiles (and their halos) start at multiples of this many cells
ALIGN = 4


def plan(rows, cols, max_cells):
    """Tiles of a rows x cols latent grid with at most max_cells cells each (halo excluded):
    [(r0, r1, c0, c1)] in cells, or None when the whole grid fits in one tile. Tiles are as square
    as the grid allows, sides multiples of ALIGN, and as few as the budget permits."""
    if rows * cols <= max_cells:
        return None
    side = max(ALIGN, int(math.isqrt(max(1, max_cells))) // ALIGN * ALIGN)
    th, tw = min(side, _aligned(rows)), min(side, _aligned(cols))
    # a grid narrower than the square tile: give its unused width to the height
    if tw < side:
        th = max(ALIGN, min(_aligned(rows), max_cells // tw // ALIGN * ALIGN))
    if th < side:
        tw = max(ALIGN, min(_aligned(cols), max_cells // th // ALIGN * ALIGN))
    return [(r, min(r + th, rows), c, min(c + tw, cols)) for r in range(0, rows, th) for c in range(0, cols, tw)]


def _aligned(n):
    return -(-n // ALIGN) * ALIGN


def _halo(a, b, n):
    """(a0, b0): the cells [a, b) widened by HALO each side (a0 aligned down), clipped to [0, n)."""
    return max(0, (a - HALO) // ALIGN * ALIGN), min(n, b + HALO)


def _empty_like_layout(part, shape):
    """An uninitialized tensor of `shape` in part's dtype, device and memory format (channels_last
    or not: what follows a transform may choose its kernels by layout)."""
    fmt = torch.channels_last if part.dim() == 4 and not part.is_contiguous() and part.is_contiguous(
        memory_format=torch.channels_last) else torch.contiguous_format
    return torch.empty(shape, dtype=part.dtype, device=part.device, memory_format=fmt)


def _padded_region(x, r0, r1, c0, c1):
    """Rows r0:r1 and columns c0:c1 of x [1, C, h, w] extended beyond its bottom and right edges by
    replicating them (what LearnedCodec.pad does to the whole image), as a new tensor."""
    h, w = x.shape[2:]
    if r1 <= h and c1 <= w:
        return x[:, :, r0:r1, c0:c1].clone()
    rows = torch.arange(r0, r1, device=x.device).clamp_(max=h - 1)
    cols = torch.arange(c0, c1, device=x.device).clamp_(max=w - 1)
    return x.index_select(2, rows).index_select(3, cols)


def analysis(transform, x, padded_size, stride, tiles):
    """transform (g_a and what follows it per position) over the tiles of x [1, C, h, w], an image
    to be padded by edge replication to padded_size = (H, W), multiples of `stride` (pixels per
    latent cell); the padded image is never held whole. Returns the latent [1, M, H/stride, W/stride]."""
    H, W = padded_size
    rows, cols = H // stride, W // stride
    out = None
    for r, r1, c, c1 in tiles:
        a0, b0 = _halo(r, r1, rows)
        d0, e0 = _halo(c, c1, cols)
        part = transform(_padded_region(x, a0 * stride, b0 * stride, d0 * stride, e0 * stride))
        if out is None:
            out = _empty_like_layout(part, (1, part.shape[1], rows, cols))
        out[:, :, r:r1, c:c1] = part[:, :, r - a0:r1 - a0, c - d0:c1 - d0]
    return out


def synthesis(transform, y, stride, tiles):
    """transform (g_s) over the tiles of the latent y [1, M, rows, cols]; each cell gives stride x
    stride pixels. Returns the image [1, C, rows * stride, cols * stride]."""
    rows, cols = y.shape[2:]
    out = None
    for r, r1, c, c1 in tiles:
        a0, b0 = _halo(r, r1, rows)
        d0, e0 = _halo(c, c1, cols)
        part = transform(y[:, :, a0:b0, d0:e0])
        if out is None:
            out = _empty_like_layout(part, (1, part.shape[1], rows * stride, cols * stride))
        out[:, :, r * stride:r1 * stride, c * stride:c1 * stride] = \
            part[:, :, (r - a0) * stride:(r1 - a0) * stride, (c - d0) * stride:(c1 - d0) * stride]
    return out
