"""The int32-exact layer of the integer context path (docs/integer.md; reference
fastcodec.integer.context.Int32Layer, C++ csrc/integer/intnet.cc) as a Triton kernel:

    out[n, o] = lrelu(clamp((sum_k x[n, k] * w[o, k] + bias[o] + 2^(s_o - 1)) >> s_o, +-amax))

int16 inputs and weights, int32 accumulation. The freezing step bounds sum|w| * in_amax + |bias| +
2^(s-1) below 2^31, so every partial sum is exact and the block/reduction order of the GPU cannot
change a bit: the kernel agrees with the reference and the C++ loop exactly.

The products are formed as int32 broadcasts and reduced with tl.sum (tl.dot has no int16 path), so
this is a correctness-first kernel: the context path's work per position is small (a wavefront of
up to ~20 positions) and the launch count, not the FLOPs, bounds it on a GPU.
"""
import torch
import triton
import triton.language as tl


@triton.jit(do_not_specialize=["N"])
def _int_layer_kernel(x_ptr, w_ptr, b_ptr, sh_ptr, out_ptr, N, CIN, COUT, x_stride, out_stride, amax, leaky,
                      HAS_LEAKY: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_n = tl.program_id(0)
    pid_o = tl.program_id(1)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_o = pid_o * BLOCK_O + tl.arange(0, BLOCK_O)
    nmask = offs_n < N
    omask = offs_o < COUT
    acc = tl.zeros((BLOCK_N, BLOCK_O), dtype=tl.int32)
    for k0 in range(0, CIN, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        kmask = offs_k < CIN
        x = tl.load(x_ptr + offs_n[:, None] * x_stride + offs_k[None, :], mask=nmask[:, None] & kmask[None, :],
                    other=0).to(tl.int32)
        w = tl.load(w_ptr + offs_o[:, None] * CIN + offs_k[None, :], mask=omask[:, None] & kmask[None, :],
                    other=0).to(tl.int32)
        acc += tl.sum(x[:, None, :] * w[None, :, :], axis=2)
    acc += tl.load(b_ptr + offs_o, mask=omask, other=0)[None, :]
    sh = tl.load(sh_ptr + offs_o, mask=omask, other=0)
    half = tl.where(sh > 0, 1 << tl.maximum(sh - 1, 0), 0)
    v = (acc + half[None, :]) >> sh[None, :]
    v = tl.minimum(tl.maximum(v, -amax), amax)
    if HAS_LEAKY:
        v = tl.where(v < 0, (v * leaky + 2048) >> 12, v)
    tl.store(out_ptr + offs_n[:, None] * out_stride + offs_o[None, :], v.to(tl.int16),
             mask=nmask[:, None] & omask[None, :])


def int_layer(x, weight_q, bias_q, shift, amax, leaky=-1, block_n=16, block_o=32, block_k=32):
    """x int16 [N, CIN] -> int16 [N, COUT] (see module docstring). All tensors on one device."""
    if x.dtype != torch.int16 or weight_q.dtype != torch.int16:
        raise TypeError("int_layer takes int16 activations and weights")
    x = x.contiguous()
    n, cin = x.shape
    cout = weight_q.shape[0]
    out = torch.empty(n, cout, dtype=torch.int16, device=x.device)
    if n == 0:
        return out
    grid = (triton.cdiv(n, block_n), triton.cdiv(cout, block_o))
    _int_layer_kernel[grid](x, weight_q.contiguous(), bias_q.to(torch.int32).contiguous(),
                            shift.to(torch.int32).contiguous(), out, n, cin, cout, cin, cout, int(amax), int(leaky),
                            HAS_LEAKY=leaky >= 0, BLOCK_N=block_n, BLOCK_O=block_o, BLOCK_K=block_k)
    return out
