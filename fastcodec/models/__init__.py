"""Architectures named after their papers (CompressAI's names and submodule names), each a
transform pair and a latent codec implementing the codec protocol (fastcodec.models.protocol).

A new architecture registers itself: ``register("name", "package.module:Class")`` (or the class
itself); weights files name it in their metadata and fastcodec.load builds it from there."""
from importlib import import_module

_ARCHITECTURES = {
    "bmshj2018-factorized": "fastcodec.models.bmshj2018_factorized:FactorizedPrior",
    "bmshj2018-hyperprior": "fastcodec.models.bmshj2018_hyperprior:ScaleHyperprior",
    "mbt2018-mean": "fastcodec.models.mbt2018_mean:MeanScaleHyperprior",
    "mbt2018": "fastcodec.models.mbt2018:JointAutoregressiveHierarchicalPriors",
    "he2021-checkerboard": "fastcodec.models.he2021_checkerboard:CheckerboardContext",
    "elic2022": "fastcodec.models.elic2022:SpaceChannelContext",
    "toderici2017": "fastcodec.models.toderici2017:RecurrentCoder",
}


def architectures():
    return sorted(_ARCHITECTURES)


def register(name, cls):
    """Registers architecture `name`: a CodecModel subclass, or "module:Class" imported on first
    use. Re-registering a name replaces it."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if not isinstance(cls, str):
        from fastcodec.models.protocol import CodecModel

        if not (isinstance(cls, type) and issubclass(cls, CodecModel)):
            raise TypeError(f"cls must be a CodecModel subclass or 'module:Class', got {cls!r}")
    _ARCHITECTURES[name] = cls


def architecture(name):
    """The class registered as `name`."""
    try:
        cls = _ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(architectures())}") from None
    if isinstance(cls, str):
        module, attr = cls.split(":")
        cls = getattr(import_module(module), attr)
    return cls


def build(name, film=False, **kwargs):
    """A fresh (untrained) model of architecture `name`; film=True adds the per-quality modulation
    of its transforms (fastcodec.layers.film), as a stored config may ask."""
    model = architecture(name)(**kwargs)
    return model.add_film() if film else model
