"""Registers the Pillow plugin (fastcodec.integrations.pillow) without importing Pillow: at once if
PIL.Image is already loaded, else the moment it is imported (a one-shot import hook), so that
``import fastcodec`` stays light and ``Image.open("x.fcx")`` works after it either way."""
import importlib.abc
import importlib.util
import sys

_TARGET = "PIL.Image"


def _register():
    try:
        from fastcodec.integrations.pillow import register
    except ImportError:  # Pillow without ImageFile: nothing to register with
        return
    register()


class _Loader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _register()


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        _remove()
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


_FINDER = _Finder()


def _remove():
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install():
    """Called by ``import fastcodec``."""
    if _TARGET in sys.modules:
        _register()
    elif _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
