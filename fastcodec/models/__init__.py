"""Architectures named after their papers (CompressAI's names and submodule names)."""
from importlib import import_module

_ARCHITECTURES = {
    "bmshj2018-factorized": ("fastcodec.models.bmshj2018_factorized", "FactorizedPrior"),
    "bmshj2018-hyperprior": ("fastcodec.models.bmshj2018_hyperprior", "ScaleHyperprior"),
    "mbt2018-mean": ("fastcodec.models.mbt2018_mean", "MeanScaleHyperprior"),
    "mbt2018": ("fastcodec.models.mbt2018", "JointAutoregressiveHierarchicalPriors"),
    "he2021-checkerboard": ("fastcodec.models.he2021_checkerboard", "CheckerboardContext"),
}


def architectures():
    return sorted(_ARCHITECTURES)


def build(name, film=False, **kwargs):
    """A fresh (untrained) model of architecture `name`; film=True adds the per-quality modulation
    of its transforms (fastcodec.models.film), as a stored config may ask."""
    try:
        module, cls = _ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(architectures())}") from None
    model = getattr(import_module(module), cls)(**kwargs)
    return model.add_film() if film else model
