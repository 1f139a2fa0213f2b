"""GDN / inverse GDN (generalized divisive normalization, Ballé et al.), original and simplified,
as one Triton pass over the activations, forward and backward.

    n = beta + gamma @ f(x)      f(x) = x^2 (original) or |x| (simplified), per pixel over channels
    y = x * g(n)                 g = n^-1/2 (GDN), n^1/2 (IGDN), 1/n (simplified GDN), n (simplified IGDN)

A program takes BLOCK_P pixels of one image with all channels (padded to a power of two) and does
the channel mixing as matrix products over BLOCK_K input channels at a time (so at most a
[BLOCK_K, BLOCK_C] slice of gamma is held: 32 KB for 256 channels), re-reading those channels of x
from cache; y is written once. Works on NCHW and
channels_last alike: the kernel takes the channel stride and the pixel stride. Sizes that vary with
the image (pixel count, strides) are not specialized, so a new image size does not recompile.

Backward recomputes n and returns dx and the (fp32) sums for d beta and d gamma:
    u = dy * x * g'(n);  dx = dy * g(n) + f'(x) * (u @ gamma);  dbeta = sum_p u;  dgamma = u^T f(x)
"""
import torch
import triton
import triton.language as tl

# mode: bit 0 = inverse, bit 1 = simplified
_GDN, _IGDN, _SGDN, _SIGDN = 0, 1, 2, 3


@triton.jit
def _g(n, MODE: tl.constexpr):
    if MODE == 0:
        return 1.0 / tl.sqrt(n)
    elif MODE == 1:
        return tl.sqrt(n)
    elif MODE == 2:
        return 1.0 / n
    else:
        return n


@triton.jit
def _g_prime(n, MODE: tl.constexpr):
    if MODE == 0:
        return -0.5 / (n * tl.sqrt(n))
    elif MODE == 1:
        return 0.5 / tl.sqrt(n)
    elif MODE == 2:
        return -1.0 / (n * n)
    else:
        return tl.full(n.shape, 1.0, tl.float32)


@triton.jit
def _f(x, MODE: tl.constexpr):
    if MODE >= 2:
        return tl.abs(x)
    else:
        return x * x


@triton.jit
def _f_prime(x, MODE: tl.constexpr):
    if MODE >= 2:
        return tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, 0.0))
    else:
        return 2.0 * x


@triton.jit
def _tile_addr(b, p0, c0, P, C, stride_b, stride_c, stride_p, BLOCK_P: tl.constexpr, BLOCK: tl.constexpr):
    offs_p = p0 + tl.arange(0, BLOCK_P)
    offs_c = c0 + tl.arange(0, BLOCK)
    mask = (offs_p[:, None] < P) & (offs_c[None, :] < C)
    return b * stride_b + offs_p[:, None] * stride_p + offs_c[None, :] * stride_c, mask


@triton.jit
def _norm(x_ptr, beta_ptr, gamma_ptr, b, p0, P, C, stride_b, stride_c, stride_p, MODE: tl.constexpr,
          BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr):
    """n[p, i] = beta_i + sum_j gamma_ij f(x[p, j]), accumulated over BLOCK_K input channels at a
    time (x re-read from memory per block) so only [BLOCK_K, BLOCK_C] of gamma is held at once."""
    offs_i = tl.arange(0, BLOCK_C)
    n = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    for k0 in range(0, C, BLOCK_K):
        addr, mask = _tile_addr(b, p0, k0, P, C, stride_b, stride_c, stride_p, BLOCK_P, BLOCK_K)
        xk = tl.load(x_ptr + addr, mask=mask, other=0.0).to(tl.float32)
        offs_k = k0 + tl.arange(0, BLOCK_K)
        gmask = (offs_k[:, None] < C) & (offs_i[None, :] < C)
        g_t = tl.load(gamma_ptr + offs_i[None, :] * C + offs_k[:, None], mask=gmask, other=0.0)  # [k, i] = gamma[i, k]
        n += tl.dot(_f(xk, MODE), g_t, out_dtype=tl.float32)
    beta = tl.load(beta_ptr + offs_i, mask=offs_i < C, other=1.0)
    return n + beta[None, :]


@triton.jit(do_not_specialize=["P", "stride_b", "stride_c", "stride_p"])
def _gdn_fwd(x_ptr, y_ptr, beta_ptr, gamma_ptr, P, C, stride_b, stride_c, stride_p,
             MODE: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr):
    b = tl.program_id(1)
    p0 = tl.program_id(0) * BLOCK_P
    n = _norm(x_ptr, beta_ptr, gamma_ptr, b, p0, P, C, stride_b, stride_c, stride_p, MODE, BLOCK_P, BLOCK_C, BLOCK_K)
    addr, mask = _tile_addr(b, p0, 0, P, C, stride_b, stride_c, stride_p, BLOCK_P, BLOCK_C)
    x = tl.load(x_ptr + addr, mask=mask, other=0.0).to(tl.float32)
    tl.store(y_ptr + addr, (x * _g(n, MODE)).to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=["P", "stride_b", "stride_c", "stride_p"])
def _gdn_bwd(x_ptr, dy_ptr, dx_ptr, u_ptr, beta_ptr, gamma_ptr, dbeta_ptr, dgamma_ptr, P, C,
             stride_b, stride_c, stride_p,
             MODE: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr):
    """u = dy x g'(n) goes through a float32 scratch tensor (u_ptr, laid out like x) so that the
    products with gamma can be taken BLOCK_K channels at a time."""
    b = tl.program_id(1)
    p0 = tl.program_id(0) * BLOCK_P
    n = _norm(x_ptr, beta_ptr, gamma_ptr, b, p0, P, C, stride_b, stride_c, stride_p, MODE, BLOCK_P, BLOCK_C, BLOCK_K)
    addr, mask = _tile_addr(b, p0, 0, P, C, stride_b, stride_c, stride_p, BLOCK_P, BLOCK_C)
    x = tl.load(x_ptr + addr, mask=mask, other=0.0).to(tl.float32)
    dy = tl.load(dy_ptr + addr, mask=mask, other=0.0).to(tl.float32)
    u = tl.where(mask, dy * x * _g_prime(n, MODE), 0.0)
    tl.store(u_ptr + addr, u, mask=mask)
    offs_c = tl.arange(0, BLOCK_C)
    tl.atomic_add(dbeta_ptr + offs_c, tl.sum(u, axis=0), mask=offs_c < C)
    tl.debug_barrier()  # u of this tile is in memory for every thread of the program
    # mix[p, j] = sum_i u[p, i] gamma_ij, over blocks of i
    mix = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    for i0 in range(0, C, BLOCK_K):
        ua, um = _tile_addr(b, p0, i0, P, C, stride_b, stride_c, stride_p, BLOCK_P, BLOCK_K)
        ui = tl.load(u_ptr + ua, mask=um, other=0.0)
        offs_i = i0 + tl.arange(0, BLOCK_K)
        g = tl.load(gamma_ptr + offs_i[:, None] * C + offs_c[None, :],
                    mask=(offs_i[:, None] < C) & (offs_c[None, :] < C), other=0.0)
        mix += tl.dot(ui, g, out_dtype=tl.float32)
    dx = dy * _g(n, MODE) + _f_prime(x, MODE) * mix
    tl.store(dx_ptr + addr, dx.to(dx_ptr.dtype.element_ty), mask=mask)
    # dgamma[i, k] += sum_p u[p, i] f(x[p, k]), one [BLOCK_K, BLOCK_K] tile at a time
    for i0 in range(0, C, BLOCK_K):
        ua, um = _tile_addr(b, p0, i0, P, C, stride_b, stride_c, stride_p, BLOCK_P, BLOCK_K)
        ui = tl.load(u_ptr + ua, mask=um, other=0.0)
        offs_i = i0 + tl.arange(0, BLOCK_K)
        for k0 in range(0, C, BLOCK_K):
            xa, xm = _tile_addr(b, p0, k0, P, C, stride_b, stride_c, stride_p, BLOCK_P, BLOCK_K)
            fk = _f(tl.load(x_ptr + xa, mask=xm, other=0.0).to(tl.float32), MODE)
            tile = tl.dot(tl.trans(ui), fk, out_dtype=tl.float32)
            offs_k = k0 + tl.arange(0, BLOCK_K)
            tl.atomic_add(dgamma_ptr + offs_i[:, None] * C + offs_k[None, :], tile,
                          mask=(offs_i[:, None] < C) & (offs_k[None, :] < C))


def _layout(x):
    """(P, stride_b, stride_c, stride_p) of a [B, C, H, W] tensor whose H, W flatten to one stride."""
    b, c, h, w = x.shape
    sb, sc, sh, sw = x.stride()
    if w > 1 and h > 1 and sh != w * sw:
        raise ValueError("gdn kernel needs H and W to flatten (NCHW or channels_last contiguous)")
    sp = sw if w > 1 else sh
    return h * w, sb, sc, sp


def _block_c(c):
    return max(16, triton.next_power_of_2(c))


def _block_p(c):
    """Pixels per program without autotuning (the interpreter): [BLOCK_P, BLOCK_C] tiles stay small."""
    return 64 if c <= 128 else 32 if c <= 256 else 16


BLOCK_K = 32  # channels of gamma per tl.dot: at most [32, BLOCK_C] of it is held at once


def _prune(configs, named_args, **kwargs):
    """Drop tiles too large for the registers: BLOCK_P * BLOCK_C <= 8192."""
    c = _block_c(named_args["C"])
    return [cfg for cfg in configs if cfg.kwargs["BLOCK_P"] * c <= 8192] or configs[:1]


_CONFIGS = [triton.Config({"BLOCK_P": bp}, num_warps=nw) for bp in (16, 32, 64, 128) for nw in (4, 8)]
_tuned = {}


def _kernel(name):
    """On a GPU, the kernel wrapped in triton.autotune keyed on the channel count (block sizes and
    warps measured once per C); in the interpreter (no GPU driver to time with) the plain kernel
    with _block_p. Both run the same kernel body."""
    base = {"fwd": _gdn_fwd, "bwd": _gdn_bwd}[name]
    if name not in _tuned:
        reset = ["dbeta_ptr", "dgamma_ptr"] if name == "bwd" else None  # tuning runs accumulate
        _tuned[name] = triton.autotune(_CONFIGS, key=["C"], prune_configs_by={"early_config_prune": _prune},
                                       reset_to_zero=reset)(base)
    return _tuned[name]



def _run(name, args, P, C, batch, on_gpu, mode):
    """Launches the forward or backward kernel: autotuned on a GPU, fixed blocks in the interpreter."""
    block_k = min(BLOCK_K, _block_c(C))
    if on_gpu:
        _kernel(name)[lambda m: (triton.cdiv(P, m["BLOCK_P"]), batch)](*args, MODE=mode, BLOCK_C=_block_c(C),
                                                                       BLOCK_K=block_k)
    else:
        bp = _block_p(C)
        base = {"fwd": _gdn_fwd, "bwd": _gdn_bwd}[name]
        base[(triton.cdiv(P, bp), batch)](*args, MODE=mode, BLOCK_P=bp, BLOCK_C=_block_c(C), BLOCK_K=block_k)


def _mode(inverse, simplified):
    return int(inverse) + 2 * int(simplified)


def gdn_forward(x, beta, gamma, inverse=False, simplified=False):
    if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
        x = x.contiguous()
    y = torch.empty_like(x)
    P, sb, sc, sp = _layout(x)
    C = x.shape[1]
    _run("fwd", (x, y, beta.float().contiguous(), gamma.float().contiguous(), P, C, sb, sc, sp),
         P, C, x.shape[0], x.is_cuda, _mode(inverse, simplified))
    return y


def gdn_backward(x, dy, beta, gamma, inverse=False, simplified=False):
    if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
        x = x.contiguous()
    dy = dy.contiguous(memory_format=torch.channels_last if x.is_contiguous(memory_format=torch.channels_last)
                       and not x.is_contiguous() else torch.contiguous_format)
    dx = torch.empty_like(x)
    C = x.shape[1]
    dbeta = torch.zeros(C, device=x.device, dtype=torch.float32)
    dgamma = torch.zeros(C, C, device=x.device, dtype=torch.float32)
    P, sb, sc, sp = _layout(x)
    u = torch.empty_like(x, dtype=torch.float32)  # scratch, same layout as x
    _run("bwd", (x, dy, dx, u, beta.float().contiguous(), gamma.float().contiguous(), dbeta, dgamma, P, C, sb, sc, sp),
         P, C, x.shape[0], x.is_cuda, _mode(inverse, simplified))
    return dx, dbeta, dgamma


class GDNFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, beta, gamma, inverse, simplified):
        ctx.save_for_backward(x, beta, gamma)
        ctx.flags = (inverse, simplified)
        return gdn_forward(x, beta, gamma, inverse, simplified)

    @staticmethod
    def backward(ctx, dy):
        x, beta, gamma = ctx.saved_tensors
        dx, dbeta, dgamma = gdn_backward(x, dy, beta, gamma, *ctx.flags)
        return dx, dbeta.to(beta.dtype), dgamma.to(gamma.dtype), None, None


def gdn(x, beta, gamma, inverse=False, simplified=False):
    """Same contract as fastcodec.functional.gdn, fused (differentiable)."""
    return GDNFunction.apply(x, beta, gamma, inverse, simplified)
