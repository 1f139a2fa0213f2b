"""The fused C++ GDN / inverse GDN of the bf16 transforms (csrc/transforms/gdn.cc, on CPUs with AVX-512 BF16):
weight packing and the call. The plain-torch reference is fastcodec.functional.gdn."""
import torch


def pack_gamma(gamma):
    """gamma [C, C] as the C++ kernel's weight operand (csrc/transforms/gdn.h): transposed, rounded to bf16,
    channel pairs interleaved, [C / 2, C, 2] as int16 (numpy has no bf16)."""
    c = gamma.shape[0]
    g = gamma.detach().float().t().contiguous().to(torch.bfloat16)  # [j, i]
    return g.reshape(c // 2, 2, c).transpose(1, 2).contiguous().view(torch.int16).numpy()


def gdn_bf16_cpu(x, gamma_packed, beta, inverse=False, simplified=False, threads=None):
    """The fused C++ GDN (csrc/transforms/gdn.cc) on a bf16 batch x [B, C, H, W] in channels_last: bf16
    output, channels_last. beta: float32 numpy [C]. threads: torch's intra-op count unless given."""
    from fastcodec._native import core as _core
    if threads is None:
        threads = torch.get_num_threads()
    b, c, h, w = x.shape
    xl = x.to(torch.bfloat16).permute(0, 2, 3, 1).contiguous().view(b * h * w, c)
    y = torch.empty((b, h, w, c), dtype=torch.bfloat16)
    _core.gdn_bf16(xl.view(torch.int16).numpy(), gamma_packed, beta, inverse, simplified,
                   y.view(b * h * w, c).view(torch.int16).numpy(), threads)
    return y.permute(0, 3, 1, 2)
