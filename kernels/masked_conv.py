"""Masked convolutions of the context models (type A raster mask, Minnen et al. 2018; checkerboard,
He et al. 2021) as Triton kernels that visit only the kernel taps the mask keeps (12 of 25 for both
5x5 masks), as an implicit GEMM: for each kept tap, out[P, Cout] += x_shifted[P, Cin] @ W_tap[Cin, Cout].

masked_conv2d computes every output position (encoding, training forward); masked_conv2d_at only
the listed positions (b, h, w) — the incremental form for decoding, where the context is needed at
one raster position / wavefront (mbt2018) or one checkerboard colour (he2021) at a time.
Layout-agnostic (strides); sizes that vary with the image are not specialized.
"""
import torch
import triton
import triton.language as tl


@triton.jit(do_not_specialize=["N", "H", "W", "sxb", "sxc", "sxh", "sxw", "sob", "soc", "soh", "sow"])
def _masked_conv_kernel(x_ptr, w_ptr, b_ptr, pos_ptr, out_ptr, N, H, W, CIN, COUT,
                        sxb, sxc, sxh, sxw, sob, soc, soh, sow,
                        taps_ptr, NTAPS: tl.constexpr, PAD: tl.constexpr, HAS_POS: tl.constexpr, HAS_BIAS: tl.constexpr,
                        BLOCK_P: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr):
    pid_p = tl.program_id(0)
    pid_n = tl.program_id(1)
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    pmask = offs_p < N
    if HAS_POS:
        bb = tl.load(pos_ptr + offs_p * 3 + 0, mask=pmask, other=0)
        hh = tl.load(pos_ptr + offs_p * 3 + 1, mask=pmask, other=0)
        ww = tl.load(pos_ptr + offs_p * 3 + 2, mask=pmask, other=0)
    else:  # every position of every image, raster order
        hw = H * W
        bb = offs_p // hw
        hh = (offs_p % hw) // W
        ww = offs_p % W
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    nmask = offs_n < COUT
    acc = tl.zeros((BLOCK_P, BLOCK_N), dtype=tl.float32)
    for t in range(NTAPS):
        dy = tl.load(taps_ptr + 2 * t) - PAD
        dx = tl.load(taps_ptr + 2 * t + 1) - PAD
        ih = hh + dy
        iw = ww + dx
        inside = pmask & (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
        for k0 in range(0, CIN, BLOCK_K):
            offs_k = k0 + tl.arange(0, BLOCK_K)
            kmask = offs_k < CIN
            xa = x_ptr + bb[:, None] * sxb + offs_k[None, :] * sxc + ih[:, None] * sxh + iw[:, None] * sxw
            xv = tl.load(xa, mask=inside[:, None] & kmask[None, :], other=0.0).to(tl.float32)
            wa = w_ptr + (t * CIN + offs_k[:, None]) * COUT + offs_n[None, :]
            wv = tl.load(wa, mask=kmask[:, None] & nmask[None, :], other=0.0)
            acc += tl.dot(xv, wv, out_dtype=tl.float32)
    if HAS_BIAS:
        acc += tl.load(b_ptr + offs_n, mask=nmask, other=0.0)[None, :]
    if HAS_POS:
        oa = out_ptr + offs_p[:, None] * COUT + offs_n[None, :]
    else:
        oa = out_ptr + bb[:, None] * sob + offs_n[None, :] * soc + hh[:, None] * soh + ww[:, None] * sow
    tl.store(oa, acc.to(out_ptr.dtype.element_ty), mask=pmask[:, None] & nmask[None, :])


def _pack(weight, mask):
    """(taps int32 [T, 2] of the kept (row, col), weights float32 [T, Cin, Cout])."""
    taps = torch.nonzero(mask > 0).to(torch.int32)
    w = weight.float()[:, :, taps[:, 0].long(), taps[:, 1].long()]  # [Cout, Cin, T]
    w = w * mask[taps[:, 0].long(), taps[:, 1].long()].float()
    return taps.contiguous().to(weight.device), w.permute(2, 1, 0).contiguous()


_CONFIGS = [triton.Config({"BLOCK_P": bp, "BLOCK_K": bk, "BLOCK_N": bn}, num_warps=nw)
            for bp in (32, 64, 128) for bk in (32, 64) for bn in (32, 64, 128) for nw in (4, 8)
            if bp * bn <= 8192]
_tuned = []


def _kernel_tuned():
    """On a GPU: the kernel under triton.autotune keyed on the channel counts (and whether positions
    are listed); the interpreter has no driver to time with and runs the plain kernel."""
    if not _tuned:
        _tuned.append(triton.autotune(_CONFIGS, key=["CIN", "COUT", "HAS_POS"])(_masked_conv_kernel))
    return _tuned[0]


def _launch(x, weight, bias, mask, positions, out):
    taps, w = _pack(weight, mask)
    b, cin, h, wd = x.shape
    cout = weight.shape[0]
    n = positions.shape[0] if positions is not None else b * h * wd
    os_ = out.stride() if positions is None else (0, 0, 0, 0)
    args = (x, w, bias.float().contiguous() if bias is not None else w, positions if positions is not None else taps,
            out, n, h, wd, cin, cout, *x.stride(), *os_, taps)
    meta = dict(NTAPS=taps.shape[0], PAD=weight.shape[-1] // 2, HAS_POS=positions is not None, HAS_BIAS=bias is not None)
    if x.is_cuda:
        _kernel_tuned()[lambda m: (triton.cdiv(n, m["BLOCK_P"]), triton.cdiv(cout, m["BLOCK_N"]))](*args, **meta)
    else:
        block_p, block_k = 32, max(16, min(64, triton.next_power_of_2(cin)))
        block_n = max(16, min(64, triton.next_power_of_2(cout)))
        _masked_conv_kernel[(triton.cdiv(n, block_p), triton.cdiv(cout, block_n))](
            *args, **meta, BLOCK_P=block_p, BLOCK_K=block_k, BLOCK_N=block_n)
    return out


def masked_conv2d(x, weight, bias, mask):
    """Same contract as fastcodec.functional.masked_conv.masked_conv2d (forward only)."""
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous() \
        else torch.contiguous_format
    out = torch.empty(x.shape[0], weight.shape[0], x.shape[2], x.shape[3], device=x.device, dtype=x.dtype,
                      memory_format=fmt)
    return _launch(x, weight, bias, mask, None, out)


def masked_conv2d_at(x, weight, bias, mask, positions):
    """Same contract as fastcodec.functional.masked_conv.masked_conv2d_at: [N, Cout] at positions [N, 3]."""
    positions = positions.to(device=x.device, dtype=torch.int32).contiguous()
    out = torch.empty(positions.shape[0], weight.shape[0], device=x.device, dtype=x.dtype)
    if positions.shape[0] == 0:
        return out
    return _launch(x, weight, bias, mask, positions, out)
