"""Latent codecs: how a latent is quantized, what likelihood training gives it, and how it is coded
to streams and decoded back given its side information. A model (fastcodec.models.base.LearnedCodec)
is a transform pair (g_a, g_s, conditioned on the quality) composed with one latent codec, its
`latent_codec`; a new system reuses a latent codec here with its own transforms.

The shipped latent codecs, one idea per file:

- factorized.FactorizedLatent: a latent coded with a per-channel factorized density (an
  EntropyBottleneck and its FactorizedCoder tables); the y of bmshj2018-factorized (optionally one
  set of densities per quality) and the side latent z of every hyperprior codec.
- hyperprior.HyperpriorLatent: y coded with a Gaussian conditional whose scales (and means) h_s
  predicts from a side latent z = h_a(y) coded by a FactorizedLatent; scale-only (bmshj2018-
  hyperprior) or mean-scale (mbt2018-mean). Holds the prior path: the float h_s, the frozen integer
  h_s (int_h_s) and its shipped state.
- context.ContextLatent: the mean-scale hyperprior plus a context prediction from decoded latents,
  merged by the entropy-parameter network, and the frozen integer context path (int_context); its
  coding orders are autoregressive.AutoregressiveLatent (mbt2018's wavefronts) and
  checkerboard.CheckerboardLatent (he2021-checkerboard: anchors, then non-anchors).

The owner. A latent codec is a plain object, not an nn.Module: its networks are modules of the model
that owns it, registered on the model under their names (entropy_bottleneck, h_a, h_s,
context_prediction, entropy_parameters), so state_dict() and the weights files are the same however
a model is composed. The codec looks them up by name on its owner at every call, so a module the
model replaces later (FactorizedPrior.expand_density_per_quality) is the one it uses. From the owner
it also reads, at call time:

- `training` and `rate_quantization`: what training likelihoods are evaluated at
  (fastcodec.layers.mixed.rate_input);
- `device`: where decoded latents are put;
- `prior_backend` (hyperprior codecs) and `context_backend` (context codecs): where the integer
  networks run (the bits are the same on each);
- `M` (context codecs, when freezing their integer path).

Whether transforms run in bf16 is the caller's argument (`autocast`). What the codec holds itself is
not part of state_dict(): the coding tables of its factorized densities and the frozen integer
networks, which the model ships as the extra state of its weights file.

What a model calls (every shipped latent codec has it):

- `streams`: names of the coded streams, in order; `integer_prefixes`: the weights-file prefixes of
  its integer networks
- `hyper_analyze(y, autocast)`: the side latent z of y (None without one)
- `forward(y, q, autocast)`: (y as the synthesis gets it in training, {latent name: likelihoods})
- `relaxed(y, z, q, quantize, autocast, hyper)`: (y as quantized, bits) with `quantize` in place of
  rounding (encoder-side search)
- `compress(y, z, q)` -> [bytes, ...] and `decompress(strings, y_shape, q)` -> y_hat [1, C, h, w]
- `factorized_latents()`: {module name: FactorizedLatent} whose coding tables the weights ship
- `integer_state()`, `set_integer_state(tensors)`, `reset()` (forgets tables and integer networks
  derived from the float weights: called when new weights are loaded)
"""
from fastcodec.latent.autoregressive import AutoregressiveLatent
from fastcodec.latent.checkerboard import CheckerboardLatent
from fastcodec.latent.context import ContextLatent
from fastcodec.latent.factorized import FactorizedLatent
from fastcodec.latent.hyperprior import HyperpriorLatent

__all__ = ["AutoregressiveLatent", "CheckerboardLatent", "ContextLatent", "FactorizedLatent", "HyperpriorLatent"]
