"""Incremental decoding of an "ans" stream, for models whose tables depend on earlier symbols."""
from fastcodec._native import core as _core
from fastcodec.coding import _args
from fastcodec.coding._codec import _table


class StreamDecoder:
    """Decodes a stream made by ``encode(symbols, indexes, table, coder="ans")`` piece by piece::

        dec = StreamDecoder(data)
        first = dec.decode(indexes[:k], table)     # the next k symbols
        rest = dec.decode(indexes[k:], table)
        dec.finish()                               # BitstreamError unless every byte was used

    The pieces may use different tables as long as the encoder coded the same symbols, in the same
    order, with the same tables. Raises :class:`fastcodec.BitstreamError` on invalid bytes.
    """

    __slots__ = ("_dec",)

    def __init__(self, data):
        self._dec = _core.StreamDecoder(_args.byte_buffer(data, "data"))

    def decode(self, indexes, table):
        return self._dec.decode(_table(table), _args.int32_array(indexes, "indexes"))

    def finish(self):
        self._dec.finish()

    @property
    def decoded(self):
        """Number of symbols decoded so far."""
        return self._dec.decoded
