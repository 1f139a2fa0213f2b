"""Per-quality modulation of the transforms' hidden layers, a conditional autoencoder in the manner of
Choi et al. 2019 ("Variable rate deep image compression with a conditional autoencoder"): the input of
each GDN / inverse GDN of g_a and g_s becomes h * exp(log_scale[q]) + shift[q], one value per channel
and quality. The gain vectors (fastcodec.layers.gains) only scale the latent; this lets each quality
move the nonlinearities' operating points too, for 2 x 8 x 6 x N numbers (24,576 at N = 128).

Identity at initialization (log_scale = shift = 0), so a trained model gains it without changing what
it computes (docs/training.md: a paired fork of the base run, 1,500 steps, -1.84 % on the
held-out validation). Training modulates the activations (each crop its own quality); coding at one
quality folds the modulation into the convolution before each GDN (w * s, b * s + t per output
channel), so every backend (torch, the C++ bf16 layers, CUDA/Triton) runs plain convolutions."""
import copy

import torch
from torch import nn

from fastcodec.layers.gains import quality_rows
from fastcodec.layers.gdn import GDN


def gdn_positions(seq):
    """Indices of the GDN layers of a transform (nn.Sequential)."""
    return [i for i, m in enumerate(seq) if isinstance(m, GDN)]


class QualityFiLM(nn.Module):
    def __init__(self, channels, qualities=8):
        """channels: the channel count of each modulated GDN input, g_a's then g_s's."""
        super().__init__()
        self.channels = list(channels)
        self.offsets = [sum(self.channels[:i]) for i in range(len(self.channels))]
        self.log_scale = nn.Parameter(torch.zeros(qualities, sum(self.channels)))
        self.shift = nn.Parameter(torch.zeros(qualities, sum(self.channels)))

    def values(self, q):
        """(scale, shift), each [B, sum(channels)], for the qualities q."""
        q = q.to(self.log_scale.device).reshape(-1)
        return torch.exp(quality_rows(self.log_scale, q)), quality_rows(self.shift, q)

    def modulate(self, site, h, values):
        """h * scale + shift of one GDN input (per crop: values from values(q))."""
        a, c = self.offsets[site], self.channels[site]
        scale, shift = (v[:, a:a + c, None, None].to(h.dtype) for v in values)
        return h * scale + shift

    def folded(self, seq, first_site, q):
        """A copy of `seq` computing the modulated transform at one quality q (a 1-element tensor):
        the convolution before each GDN scaled and shifted per output channel. Built as ordinary
        tensors even when called under torch.inference_mode (coding), since the layer caches key on
        tensor versions, which inference tensors do not have."""
        with torch.inference_mode(False), torch.no_grad():
            return self._folded(seq, first_site, q.clone())

    def _folded(self, seq, first_site, q):
        scale, shift = (v[0] for v in self.values(q))
        out = copy.deepcopy(seq)
        for k, i in enumerate(gdn_positions(seq)):
            a, c = self.offsets[first_site + k], self.channels[first_site + k]
            s, t = scale[a:a + c].detach(), shift[a:a + c].detach()
            conv = out[i - 1]
            if conv.bias is None:
                raise ValueError("FiLM folding needs a bias on the convolution before each GDN")
            with torch.no_grad():
                w = conv.weight
                # Conv2d weights are [out, in, k, k]; ConvTranspose2d weights [in, out, k, k]
                view = (1, -1, 1, 1) if isinstance(conv, nn.ConvTranspose2d) else (-1, 1, 1, 1)
                w.mul_(s.to(w.dtype).view(view))
                conv.bias.mul_(s.to(w.dtype)).add_(t.to(w.dtype))
        return out.requires_grad_(False)


def modulated_layers(seq, x, film, first_site, values):
    """seq(x) with the input of each of its GDN layers modulated (sites first_site, first_site + 1, ...)."""
    site = first_site
    for layer in seq:
        if isinstance(layer, GDN):
            x = film.modulate(site, x, values)
            site += 1
        x = layer(x)
    return x


def run_modulated(seq, x, film, first_site, values, autocast, tail=1):
    """modulated_layers with all layers but the last `tail` under bf16 autocast (when enabled), those
    in float32 (as fastcodec.layers.mixed.run_mixed; the last layers hold no GDN)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
        h = modulated_layers(seq[:-tail], x, film, first_site, values)
    return seq[-tail:](h.float())
