"""Mean-scale hyperprior (Minnen, Ballé, Toderici 2018, without the context model): the hyperprior
predicts a mean and a scale per latent; names follow CompressAI's MeanScaleHyperprior."""
import torch
from torch import nn

from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.entropy.gaussian import gaussian_likelihood
from fastcodec.layers import GDN, conv, deconv
from fastcodec.models.gains import QualityGains


def analysis(n, m):
    return nn.Sequential(conv(3, n), GDN(n), conv(n, n), GDN(n), conv(n, n), GDN(n), conv(n, m))


def synthesis(n, m):
    return nn.Sequential(deconv(m, n), GDN(n, inverse=True), deconv(n, n), GDN(n, inverse=True),
                         deconv(n, n), GDN(n, inverse=True), deconv(n, 3))


def round_ste(x):
    """round(x) forward, identity gradient."""
    return x + (torch.round(x) - x).detach()


class MeanScaleHyperprior(nn.Module):
    name = "mbt2018-mean"

    def __init__(self, N=128, M=192):
        super().__init__()
        self.N, self.M = N, M
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.h_a = nn.Sequential(conv(M, N, 3, 1), nn.LeakyReLU(inplace=True), conv(N, N), nn.LeakyReLU(inplace=True),
                                 conv(N, N))
        self.h_s = nn.Sequential(deconv(N, M), nn.LeakyReLU(inplace=True), deconv(M, M * 3 // 2),
                                 nn.LeakyReLU(inplace=True), conv(M * 3 // 2, M * 2, 3, 1))
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gains = QualityGains(M)

    def forward(self, x, q, autocast=False):
        """Training/evaluation pass with noise for the rate and straight-through rounding (around
        the predicted mean) for the synthesis input ("mixed" quantization, Minnen & Singh 2020).
        q: LongTensor [B] of 0-based qualities. With autocast, the inner layers run in bfloat16;
        the layers that produce y, the means and the scales stay float32 (they decide the bits).
        Returns x_hat and the likelihoods (float32)."""
        y = run_mixed(self.g_a, x, autocast) * self.gains.gain(q)
        z = run_mixed(self.h_a, y, autocast)
        z_tilde = z + torch.empty_like(z).uniform_(-0.5, 0.5) if self.training else torch.round(z)
        z_lik = self.entropy_bottleneck.likelihood(z_tilde)
        scales, means = run_mixed(self.h_s, z_tilde, autocast).chunk(2, 1)
        if self.training:
            y_rate = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        else:
            y_rate = torch.round(y - means) + means
        y_lik = gaussian_likelihood(y_rate, scales, means)
        y_hat = round_ste(y - means) + means
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            x_hat = self.g_s(y_hat * self.gains.inv_gain(q))
        return {"x_hat": x_hat.float(), "likelihoods": {"y": y_lik, "z": z_lik}}


def run_mixed(seq, x, autocast):
    """All layers of `seq` but the last under bf16 autocast (when enabled); the last in float32."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        h = seq[:-1](x)
    return seq[-1](h.float())
