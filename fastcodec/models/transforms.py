"""Building blocks shared by the architectures: the GDN analysis/synthesis transforms of Ballé et
al. (2017/2018) and the hyper transforms. The rounding and mixed-precision helpers are in
fastcodec.layers.mixed."""
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
