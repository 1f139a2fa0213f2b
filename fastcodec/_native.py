"""The compiled core, fastcodec._core, with the package's exception classes installed: import it from here.

_core does not import the Python package: until ``set_bitstream_error`` is called it raises ValueError
for corrupt or truncated streams. Importing this module installs BitstreamError (a ValueError), so
every call through ``fastcodec._native.core`` raises the package's documented exceptions.
"""
from fastcodec import _core
from fastcodec.errors import BitstreamError

_core.set_bitstream_error(BitstreamError)
core = _core
