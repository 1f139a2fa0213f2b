"""Weights in CompressAI's layout, both ways: run CompressAI-trained models in fastcodec, and load
fastcodec's weights into CompressAI (for side-by-side benchmarks of the same weights).

CompressAI models have one set of weights per quality and no gain vectors: a converted model gets
identity gains (every quality index codes at the weights' own rate). Going the other way, the
gains of one quality are folded into the last convolution of g_a and the first of g_s, which is
exact: y * gain = conv(x; W * gain, b * gain); a model with FiLM gets the quality's modulation
folded into its convolutions (fastcodec.layers.film) the same way.
"""
import re

import torch

from fastcodec.models import build

_DROP = re.compile(r"(_reparam\.|\.quantiles$|\._offset$|\._quantized_cdf$|\._cdf_length$|\.target$|"
                   r"likelihood_lower_bound|^gaussian_conditional\.|^context_prediction\.mask$|\._medians$)")
_EB_LIST = re.compile(r"^entropy_bottleneck\.(matrices|biases|factors)\.(\d+)$")
_EB_NAME = {"matrices": "_matrix", "biases": "_bias", "factors": "_factor"}


def _infer_config(state):
    layers = sum(1 for k in state if k.startswith("entropy_bottleneck._matrix"))
    return {"N": int(state["g_a.0.weight"].shape[0]), "M": int(state["g_a.6.weight"].shape[0]),
            "eb_filters": (3,) * (layers - 1)}


def from_compressai_state_dict(state_dict, arch):
    """A fastcodec model (eval mode, identity gains) from a CompressAI state_dict of the same
    architecture ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018")."""
    state = {}
    for key, value in state_dict.items():
        if _DROP.search(key):
            continue
        m = _EB_LIST.match(key)
        if m:
            key = f"entropy_bottleneck.{_EB_NAME[m.group(1)]}{m.group(2)}"
        state[key] = value.detach().float()
    model = build(arch, **_infer_config(state))
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.startswith("gains.")]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ValueError(f"not a CompressAI {arch} state_dict: missing {missing[:5]}, unexpected {unexpected[:5]}")
    state["gains.log_gain"] = torch.zeros_like(own["gains.log_gain"])
    state["gains.log_inv_gain"] = torch.zeros_like(own["gains.log_inv_gain"])
    model.load_state_dict(state)
    return model.eval()


def to_compressai_state_dict(model, quality):
    """The parameters of `model` at 1-based `quality` in CompressAI's names, gains folded into g_a's
    last and g_s's first convolution. CompressAI's own buffers are not included: update a
    CompressAI model's state_dict() with this, load it, then call its update()."""
    q = torch.tensor([quality - 1])
    gain = model.gains.gain(q).reshape(-1).detach()
    inv_gain = model.gains.inv_gain(q).reshape(-1).detach()
    folded = {}
    if getattr(model, "film", None) is not None:   # the quality's FiLM folded into the convolutions
        for name in ("g_a", "g_s"):
            folded.update({f"{name}.{k}": v for k, v in model._coding_transform(name, q).state_dict().items()})
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith(("gains.", "film.")):
            continue
        value = folded.get(key, value).detach().clone()
        if key == "g_a.6.weight":
            value *= gain[:, None, None, None]
        elif key == "g_a.6.bias":
            value *= gain
        elif key == "g_s.0.weight":  # ConvTranspose2d weight: [in, out, k, k]
            value *= inv_gain[:, None, None, None]
        m = re.match(r"^entropy_bottleneck\._(matrix|bias|factor)(\d+)$", key)
        if m and getattr(model, "density_per_quality", False):   # CompressAI: one density, this quality's
            k = model.density_index(q)
            value = value[k * model.M:(k + 1) * model.M]
        if m:
            key = f"entropy_bottleneck.{ {'matrix': 'matrices', 'bias': 'biases', 'factor': 'factors'}[m.group(1)] }.{m.group(2)}"
        state[key] = value
    return state
