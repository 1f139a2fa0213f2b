"""Building blocks shared by the architectures: the GDN analysis/synthesis transforms of Ballé et
al. (2017/2018), the hyper transforms, rounding and mixed-precision helpers."""
import torch
from torch import nn

from fastcodec.layers import GDN, conv, deconv


def analysis(n, m):
    """g_a: 4 stride-2 5x5 convolutions with GDN between (image -> latent at 1/16 resolution)."""
    return nn.Sequential(conv(3, n), GDN(n), conv(n, n), GDN(n), conv(n, n), GDN(n), conv(n, m))


# Mean pixel value of natural photos in [0, 1]: the initial output bias of g_s. With Adam a bias
# moves about one learning rate per step, so starting it at 0 costs thousands of steps of
# near-constant output (measured on this CPU: +3 dB after 100 steps of a plain autoencoder).
OUTPUT_BIAS_INIT = 0.45


def synthesis(n, m):
    """g_s: the mirror of analysis with inverse GDN."""
    last = deconv(n, 3)
    nn.init.constant_(last.bias, OUTPUT_BIAS_INIT)
    return nn.Sequential(deconv(m, n), GDN(n, inverse=True), deconv(n, n), GDN(n, inverse=True),
                         deconv(n, n), GDN(n, inverse=True), last)


def hyper_analysis(n, m, act=nn.LeakyReLU):
    return nn.Sequential(conv(m, n, 3, 1), act(inplace=True), conv(n, n), act(inplace=True), conv(n, n))


def mean_scale_hyper_synthesis(n, m):
    """h_s of the mean-scale models: outputs 2M channels (scales, means)."""
    return nn.Sequential(deconv(n, m), nn.LeakyReLU(inplace=True), deconv(m, m * 3 // 2),
                         nn.LeakyReLU(inplace=True), conv(m * 3 // 2, m * 2, 3, 1))


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
    the coded value itself with a straight-through gradient ("round")."""
    if model.training and model.rate_quantization == "noise":
        return noisy(x)
    if center is None:
        return round_ste(x) if model.training else torch.round(x)
    return (round_ste(x - center) if model.training else torch.round(x - center)) + center
