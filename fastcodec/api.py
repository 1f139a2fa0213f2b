"""The image API: load a model, encode images to container bytes, decode them back.

    codec = fastcodec.load("mbt2018-mean", quality=3)
    blob = codec.encode(image)          # HxWx3 / HxW / HxWx4 uint8 numpy array, or a PIL image
    image = fastcodec.decode(blob)      # the model is found from the id in the header

Gray images are coded as RGB and decoded to HxW (the mean of the decoded channels). An alpha
channel is kept losslessly in an extra zlib stream and decoded to HxWx4.
"""
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from fastcodec import _openmp

_openmp.configure()  # before torch is first imported (see fastcodec/_openmp.py)

from fastcodec import bitstream  # noqa: E402
from fastcodec.bitstream.container import COLOR_GRAY, COLOR_RGB, COLOR_RGBA, model_id  # noqa: E402
from fastcodec.errors import BitstreamError  # noqa: E402
from fastcodec.zoo import WEIGHTS_DIR, list_models, manifest, sha256_file  # noqa: E402

DEFAULT_MODEL = "mbt2018-mean"


def _check_quality(quality):
    if isinstance(quality, bool) or not isinstance(quality, (int, float, np.integer, np.floating)):
        raise TypeError(f"quality must be a number in [1, 8], got {type(quality).__name__}")
    if not 1 <= quality <= 8:
        raise ValueError(f"quality must be in [1, 8], got {quality}")
    return float(quality)


@lru_cache(maxsize=8)
def _model(key, device="cpu"):
    from fastcodec import _allocator
    from fastcodec.zoo import load_model

    _allocator.tune()
    return load_model(key).to(device)


def _shipped_ids():
    return {model_id(name, e["sha256"]): name for name, e in manifest().items()}


def _as_uint8_image(image):
    """(HxWx3 uint8 RGB array, colour code, HxW alpha or None) from an array or a PIL image."""
    if hasattr(image, "mode") and hasattr(image, "convert"):  # a PIL image
        mode = image.mode
        if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
            image = np.asarray(image.convert("RGBA"))
        elif mode in ("L", "1"):
            image = np.asarray(image.convert("L"))
        else:
            image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array or a PIL image, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image must have dtype uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2), COLOR_GRAY, None
    if image.ndim == 3 and image.shape[2] == 3:
        return image, COLOR_RGB, None
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, :3], COLOR_RGBA, np.ascontiguousarray(image[:, :, 3])
    raise ValueError(f"image must have shape HxW, HxWx3 or HxWx4, got {image.shape}")


class Codec:
    """A loaded model at one quality. Thread-safe for encoding; models are shared and cached."""

    def __init__(self, name, quality, device="cpu", refine=0):
        self.quality = _check_quality(quality)
        from fastcodec.models.refine import check_steps

        self.refine = check_steps(refine)
        self.device = str(device)
        entry = manifest().get(name)
        if entry is not None:
            self.name, self._key = name, name
            self.id = model_id(name, entry["sha256"])
        else:
            from pathlib import Path

            path = Path(name)
            if not path.exists():
                raise ValueError(f"unknown model {name!r}: not a shipped name ({', '.join(list_models())}) nor a file")
            self.name, self._key = path.stem, str(path.resolve())
            self.id = model_id(path.stem, sha256_file(path))
        self.model = _model(self._key, self.device)

    def __repr__(self):
        extra = f", refine={self.refine}" if self.refine else ""
        return f"fastcodec.Codec({self.name!r}, quality={self.quality:g}{extra})"

    def encode(self, image):
        """Encodes one image; returns the container bytes."""
        import torch

        rgb, color, alpha = _as_uint8_image(image)
        h, w = rgb.shape[:2]
        limits = bitstream.default_limits
        if h < 1 or w < 1 or h > limits.max_side or w > limits.max_side or h * w > limits.max_pixels:
            raise ValueError(f"image of {h}x{w} pixels is outside the size limits (fastcodec.bitstream.default_limits)")
        x = torch.from_numpy(np.array(rgb, dtype=np.uint8, order="C")).permute(2, 0, 1)[None].float().div_(255.0)
        compressed = self.model.compress(x, self.quality - 1, refine=self.refine)
        streams = list(compressed["strings"])
        if alpha is not None:
            streams.append(zlib.compress(alpha.tobytes(), 9))
        return bitstream.pack(self.id, self.quality, h, w, color, streams)

    def encode_batch(self, images, workers=None):
        """Encodes a list of images on `workers` threads (None: all cores); same bytes as encode()."""
        return _map(self.encode, images, workers)


def load(name=None, quality=3, device="cpu", refine=0):
    """A Codec for a shipped model name (see list_models()) or a .safetensors path, at quality
    1..8 (fractions interpolate between the trained qualities). device="cuda" runs the transforms
    on a GPU (with the Triton kernels where Triton is installed); entropy coding stays on the CPU.

    The first model loaded (here or by decode()) also raises glibc's mmap/trim thresholds so the
    transforms' large buffers are reused instead of page-faulted in again for every layer
    (fastcodec._allocator; about 20 % faster coding; FASTCODEC_MALLOC_TUNING=0 disables it).

    refine=N spends N steps of encoder-side latent refinement on every image (fastcodec.models.refine):
    smaller files at the same quality, each step costing about a synthesis pass forward and backward
    (N=100: ~100x slower encoding); decoding and the format are unchanged."""
    return Codec(name or DEFAULT_MODEL, quality, device, refine)


def _map(fn, items, workers):
    """fn over items on `workers` threads. torch's intra-op threads are shared out among the
    workers for the call (cores // workers each), so workers add parallelism instead of
    oversubscribing the cores; the setting is restored afterwards."""
    import os

    import torch

    items = list(items)
    workers = min(workers or os.cpu_count() or 1, max(1, len(items)))
    if workers == 1:
        return [fn(item) for item in items]
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))
    finally:
        torch.set_num_threads(before)


def decode(blob, model=None, device="cpu"):
    """Decodes container bytes to a uint8 image (HxWx3, HxW for gray, HxWx4 with alpha). The
    model is looked up by the id in the header among the shipped models, or given as a name or
    path. Raises BitstreamError for bytes that are not a valid container for that model."""
    import torch

    header, streams = bitstream.unpack(blob)
    if model is not None:
        codec = Codec(model, header.quality, device)
        if codec.id != header.model_id:
            raise BitstreamError(f"blob was made with model id {header.model_id.hex()}, not {model!r} ({codec.id.hex()})")
    else:
        name = _shipped_ids().get(header.model_id)
        if name is None:
            raise BitstreamError(f"blob was made with a model that is not shipped here (id {header.model_id.hex()}); "
                                 "pass model= its weights file")
        codec = Codec(name, header.quality, device)
    m = codec.model
    n_model = len(streams) - (header.color == COLOR_RGBA)
    if n_model != m.num_streams:
        raise BitstreamError(f"blob holds {n_model} model stream(s), {codec.name} codes {m.num_streams}")
    stride = m.stride
    latent = (-(-header.height // stride) * stride // 16, -(-header.width // stride) * stride // 16)
    try:
        x_hat = m.decompress(streams[:n_model], latent, (header.height, header.width), header.quality - 1)
    except (IndexError, RuntimeError) as exc:
        raise BitstreamError(f"payload does not fit the model: {exc}") from None
    rgb = (x_hat[0].permute(1, 2, 0) * 255).round_().to(torch.uint8).cpu().numpy()
    if header.color == COLOR_GRAY:
        return np.round(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8)
    if header.color == COLOR_RGBA:
        try:
            alpha = np.frombuffer(zlib.decompress(streams[-1], bufsize=header.height * header.width), np.uint8)
        except zlib.error as exc:
            raise BitstreamError(f"alpha stream is corrupt: {exc}") from None
        if alpha.size != header.height * header.width:
            raise BitstreamError("alpha stream has the wrong size")
        return np.concatenate([rgb, alpha.reshape(header.height, header.width, 1)], axis=2)
    return rgb


def decode_batch(blobs, workers=None, model=None):
    """Decodes a list of blobs on `workers` threads; same result as decode() on each."""
    return _map(lambda b: decode(b, model=model), blobs, workers)


__all__ = ["Codec", "DEFAULT_MODEL", "WEIGHTS_DIR", "decode", "decode_batch", "list_models", "load"]
