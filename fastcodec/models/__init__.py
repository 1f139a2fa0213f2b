"""Architectures named after their papers (CompressAI's names and submodule names)."""
from importlib import import_module

_ARCHITECTURES = {
    "mbt2018-mean": ("fastcodec.models.mbt2018_mean", "MeanScaleHyperprior"),
}


def architectures():
    return sorted(_ARCHITECTURES)


def build(name, **kwargs):
    """A fresh (untrained) model of architecture `name`."""
    try:
        module, cls = _ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(architectures())}") from None
    return getattr(import_module(module), cls)(**kwargs)
