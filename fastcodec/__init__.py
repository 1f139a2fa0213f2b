"""fastcodec: learned lossy image compression with a fast, bit-exact, safe C++ core.

``import fastcodec`` is cheap: submodules (``fastcodec.coding`` and the torch-based layers) load
on first use.
"""
from importlib import import_module as _import_module

from fastcodec.errors import BitstreamError, FastcodecError

__version__ = "0.1.0"
__all__ = ["BitstreamError", "FastcodecError", "coding", "__version__"]

_LAZY_SUBMODULES = {"coding"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return _import_module(f"fastcodec.{name}")
    raise AttributeError(f"module 'fastcodec' has no attribute {name!r}")
