"""One item of a batch job in, one result row out, never raising: what every engine runs per
image (Ray Data actors, Dask workers, the command line's local engine), so all of them give the
bytes of `Codec.encode` and report a failing item the same way: as a row with an `error`, while
the other items of the batch go on.

An item is a path (str or os.PathLike) to an image file, the bytes of an image file, a uint8
array (HxW, HxWx3, HxWx4) or a PIL image."""
import io
import os

import numpy as np


def describe(exc):
    """'Type: reason', as the error column says it."""
    return f"{type(exc).__name__}: {exc}"


def failed_row(exc):
    """The row of an item that could not be encoded."""
    return {"fcx": None, "size": 0, "bpp": float("nan"), "height": 0, "width": 0, "error": describe(exc)}


def open_image(item):
    """A loaded PIL image (or the array itself) for an item; OSError / ValueError for bad input."""
    if isinstance(item, np.ndarray) or hasattr(item, "convert"):
        return item
    from PIL import Image

    if isinstance(item, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(item))
    elif isinstance(item, (str, os.PathLike)):
        source = os.fspath(item)
    else:
        raise TypeError(f"item must be a path, image file bytes, a uint8 array or a PIL image, got {type(item).__name__}")
    with Image.open(source) as im:
        im.load()
        return im.copy()


def size_of(image):
    """(height, width) of a uint8 array or a PIL image."""
    if isinstance(image, np.ndarray):
        return int(image.shape[0]), int(image.shape[1])
    return image.height, image.width


def encode_row(codec, item):
    """{fcx: container bytes or None, size, bpp, height, width, error: '' or 'Type: reason'}."""
    try:
        image = open_image(item)
        blob = codec.encode(image)
        height, width = size_of(image)
        return {"fcx": blob, "size": len(blob), "bpp": 8.0 * len(blob) / (height * width), "height": height,
                "width": width, "error": ""}
    except Exception as exc:  # noqa: BLE001 - a failing item is reported in its row, the batch goes on
        return failed_row(exc)


def decode_row(blob, model=None):
    """{image: uint8 array or None, error: '' or 'Type: reason'} for container bytes."""
    from fastcodec.api import decode

    try:
        if blob is None:
            raise ValueError("no container bytes (the item failed to encode)")
        return {"image": decode(bytes(blob), model=model), "error": ""}
    except Exception as exc:  # noqa: BLE001 - as encode_row
        return {"image": None, "error": describe(exc)}


ENCODED_COLUMNS = ("fcx", "size", "bpp", "height", "width", "error")
