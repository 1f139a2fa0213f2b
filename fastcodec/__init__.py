"""fastcodec: learned lossy image compression with a fast, bit-exact, safe C++ core.

``import fastcodec`` is cheap: it imports neither torch nor Pillow; submodules
(``fastcodec.coding`` and the torch-based layers) load on first use.
"""
from importlib import import_module as _import_module

from fastcodec import _openmp
from fastcodec.errors import BitstreamError, FastcodecError

# libgomp reads GOMP_SPINCOUNT once, when torch loads: set it here, where a program that imports
# fastcodec before torch gets it, not only in fastcodec.api (fastcodec/_openmp.py; only an
# environment variable, so ``import fastcodec`` stays cheap)
_openmp.configure()

__version__ = "0.1.0"
__all__ = ["BitstreamError", "FastcodecError", "backends", "bitstream", "coding", "decode", "decode_batch", "list_models",
           "load", "progressive_steps", "truncate", "__version__"]

_LAZY_SUBMODULES = {"coding", "bitstream"}
_LAZY_API = {"load", "decode", "decode_batch", "truncate", "progressive_steps", "Codec", "backends"}


# Image.open("x.fcx") / img.save("x.fcx") once fastcodec is imported, without importing Pillow here:
# the plugin registers when PIL.Image is (or was already) imported
from fastcodec import _pillow_hook  # noqa: E402

_pillow_hook.install()


def list_models():
    """Names of the models shipped in the package."""
    from fastcodec.zoo import list_models as _list

    return _list()


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return _import_module(f"fastcodec.{name}")
    if name in _LAZY_API:
        return getattr(_import_module("fastcodec.api"), name)
    raise AttributeError(f"module 'fastcodec' has no attribute {name!r}")
