"""The exceptions fastcodec raises on purpose.

Bad arguments raise the built-in TypeError/ValueError naming the argument. Bytes that are not a
valid stream raise BitstreamError, which is also a ValueError so generic handlers catch it.
"""


class FastcodecError(Exception):
    """Base class of fastcodec's own exceptions."""


class BitstreamError(FastcodecError, ValueError):
    """Truncated, corrupted or foreign bytes were given to a decoder."""
