"""Argument checks at the Python boundary: each error names the argument, what was expected and
what came. Nothing is converted silently: a wrong dtype is a TypeError, not a copy."""
import numpy as np


def int32_array(value, name):
    """Returns `value` when it is a C-contiguous int32 numpy array; raises TypeError otherwise."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of int32, got {type(value).__name__}")
    if value.dtype != np.int32:
        raise TypeError(f"{name} must have dtype int32, got {value.dtype}")
    if not value.flags.c_contiguous:
        raise TypeError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    return value


def same_size(a, a_name, b, b_name):
    if a.size != b.size:
        raise ValueError(f"{a_name} and {b_name} must have the same number of elements, got {a.size} and {b.size}")


def byte_buffer(value, name):
    """Returns a contiguous 1-byte-per-item view of bytes-like `value`."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype != np.uint8 or value.ndim != 1 or not value.flags.c_contiguous:
            raise TypeError(f"{name} as an ndarray must be 1-D contiguous uint8, got {value.dtype} with shape {value.shape}")
        return value
    if isinstance(value, memoryview):
        if not value.contiguous:
            raise TypeError(f"{name} must be a contiguous memoryview")
        return value.cast("B") if value.format != "B" or value.ndim != 1 else value
    raise TypeError(f"{name} must be bytes-like (bytes, bytearray, memoryview or uint8 ndarray), got {type(value).__name__}")


def sequence(value, name):
    if isinstance(value, (str, bytes, np.ndarray)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a list or tuple, got {type(value).__name__}")
    return list(value)


def threads(value):
    if value is None:
        return 0
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"threads must be None or a positive int, got {value!r}")
    return int(value)
