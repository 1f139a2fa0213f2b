"""Mixed-precision running of layer stacks, memory layout, and the quantization proxies of training:
the helpers that transforms (fastcodec.models) and latent codecs (fastcodec.latent) share."""
import torch


def dense_channels_last(x):
    """x in channels_last memory with the standard strides of a dense [B, C, H, W] tensor. A batch
    of one built from an HWC array (an image from numpy, the context models' decoded latent) has a
    batch stride of C: contiguous(channels_last) accepts it as is, but oneDNN then takes a path
    1.4-2x slower for every convolution and GDN of the transform (measured on kodim01: g_a 121 vs
    91 ms, g_s 1.7x). clone() gives the standard strides; a tensor that has them is returned as is."""
    b, c, h, w = x.shape
    if x.stride() == (c * h * w, 1, w * c, c):
        return x
    return x.clone(memory_format=torch.channels_last)


def round_ste(x):
    """round(x) forward, identity gradient."""
    return x + (torch.round(x) - x).detach()


def run_mixed(seq, x, autocast, tail=1):
    """All layers of `seq` but the last `tail` under bf16 autocast (when enabled), those in float32:
    the layers that produce latents, means and scales decide the bits and stay float32."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
        h = seq[:-tail](x)
    return seq[-tail:](h.float())


def run_autocast(module, x, autocast):
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
        return module(x).float()


def noisy(x):
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


def rate_input(model, x, center=None):
    """What a likelihood is evaluated at: in eval mode the coded value (x rounded around center);
    in training, per model.rate_quantization, x plus uniform noise ("noise", the papers' proxy) or
    the coded value itself with a straight-through gradient ("round"). `model`: anything with
    `training` and `rate_quantization` (a model, or the owner of a latent codec)."""
    if model.training and model.rate_quantization == "noise":
        return noisy(x)
    if center is None:
        return round_ste(x) if model.training else torch.round(x)
    return (round_ste(x - center) if model.training else torch.round(x - center)) + center
