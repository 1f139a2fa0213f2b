"""The image API: load a model, encode images to container bytes, decode them back.

    codec = fastcodec.load("mbt2018-mean", quality=3)
    blob = codec.encode(image)          # HxWx3 / HxW / HxWx4 uint8 numpy array, or a PIL image
    image = fastcodec.decode(blob)      # the model is found from the id in the header

Gray images are coded as RGB and decoded to HxW (the mean of the decoded channels). An alpha
channel is kept losslessly in an extra zlib stream and decoded to HxWx4.
"""
import numbers
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from fastcodec import _openmp

_openmp.configure()  # before torch is first imported (see fastcodec/_openmp.py)

from fastcodec import bitstream  # noqa: E402
from fastcodec.bitstream import COLOR_GRAY, COLOR_RGB, COLOR_RGBA, RATE_STEPS, Rate  # noqa: E402
from fastcodec.errors import BitstreamError  # noqa: E402
from fastcodec.zoo import WEIGHTS_DIR, identify, list_models, manifest, model_ids  # noqa: E402

DEFAULT_MODEL = "mbt2018-mean"


def _file_stamp(key, mid):
    """What says that the weights behind a cache key are still those loaded: None for a shipped
    name (its file is checked against the manifest's sha256 when loaded and belongs to the package);
    for a weights file (key: its resolved path) its mtime, its size and the model id identify()
    gave it, so a file rewritten in place is loaded again instead of served from the cache. The id
    of an unregistered file is its content's hash; that of a registered one is fixed when it is
    registered, so for those the mtime and size carry the change."""
    if key in manifest():
        return None
    st = os.stat(key)
    return st.st_mtime_ns, st.st_size, mid


@lru_cache(maxsize=8)
def _model(key, device="cpu", stamp=None):
    """The model of a cache key (identify()'s), cached per (key, device, _file_stamp)."""
    from fastcodec import _allocator
    from fastcodec.zoo import load_model

    _allocator.tune()
    return load_model(key).to(device)


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
    """A loaded model at one rate. Thread-safe for encoding; models are shared and cached.

    quality: a value of the model's rate control (codec.rate_spec): a quality 1..8 for the MSE
    models, a step count for a progressive one; None: the model's default."""

    def __init__(self, name, quality=None, device="cpu", refine=0):
        from fastcodec.search import check_steps

        self.refine = check_steps(refine)
        self.device = str(device)
        self.name, self._key, self.id = identify(name)
        self.model = _model(self._key, self.device, _file_stamp(self._key, self.id))
        self.rate_spec = self.model.rate_spec
        self.quality = self.rate_spec.check(quality, "quality")
        if self.refine and not self.model.capabilities.latent_search:
            raise ValueError(f"refine: {self.name} does not support encoder-side latent refinement")

    def __repr__(self):
        extra = f", refine={self.refine}" if self.refine else ""
        return f"fastcodec.Codec({self.name!r}, quality={self.quality:g}{extra})"

    @property
    def rate(self):
        """The container's Rate of this codec."""
        return Rate.named(self.rate_spec.kind, self.quality)

    def encode(self, image, bpp=None):
        """Encodes one image; returns the container bytes. bpp (progressive models only): encode
        this codec's steps, then keep the most whose file holds at most bpp bits per pixel
        (truncate(blob, bpp=...))."""
        if bpp is not None:
            _check_bpp(bpp)
            if not self.model.capabilities.progressive:
                raise ValueError(f"bpp: {self.name} is not progressive; choose its rate with quality=")
            return truncate(self.encode(image), bpp=bpp)
        import torch

        from fastcodec import search

        rgb, color, alpha = _as_uint8_image(image)
        h, w = rgb.shape[:2]
        limits = bitstream.default_limits
        if h < 1 or w < 1 or h > limits.max_side or w > limits.max_side or h * w > limits.max_pixels:
            raise ValueError(f"image of {h}x{w} pixels is outside the size limits (fastcodec.bitstream.default_limits)")
        over = _over_memory(self, h, w)
        if over:
            raise ValueError(f"image: {over}")
        if not (rgb.flags.writeable and rgb.flags.c_contiguous and rgb.dtype == np.uint8):
            rgb = np.array(rgb, dtype=np.uint8, order="C")   # torch wraps only writable arrays
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        if self.refine or not self.model.encodes_uint8:
            x = x.float().div_(255.0)
        streams = list(search.encode(self.model, x, self.quality, self.refine))
        if alpha is not None:  # the alpha plane's stream comes first (a cut progressive file keeps it)
            streams.insert(0, zlib.compress(alpha.tobytes(), 9))
        return bitstream.pack(self.id, self.rate, h, w, color, streams,
                              progressive=self.model.capabilities.progressive)

    def encode_batch(self, images, workers=None, errors="raise"):
        """Encodes a list of images on `workers` threads (None: all cores); same bytes as encode().
        errors="raise": the first failing image's exception is raised; errors="return": a failing
        image's exception takes its place in the list and the other images are still encoded."""
        return map_threads(self.encode, images, workers, errors)


def load(name=None, quality=None, device="cpu", refine=0):
    """A Codec for a shipped model name (see list_models()), a registered one
    (fastcodec.zoo.register) or a .safetensors path, at a rate of the model's rate control: for the
    shipped models a quality 1..8 (fractions interpolate between the trained qualities; None: 3). device="cuda" runs the transforms
    on a GPU (with the Triton kernels where Triton is installed); entropy coding stays on the CPU.

    The first model loaded (here or by decode()) also raises glibc's mmap/trim thresholds so the
    transforms' large buffers are reused instead of page-faulted in again for every layer
    (fastcodec._allocator; about 20 % faster coding; FASTCODEC_MALLOC_TUNING=0 disables it).

    refine=N spends N steps of encoder-side latent refinement on every image (fastcodec.search):
    smaller files at the same quality, each step costing about a synthesis pass forward and backward
    (N=100: ~100x slower encoding); decoding and the format are unchanged."""
    return Codec(name or DEFAULT_MODEL, quality, device, refine)


def _returning_errors(fn):
    def call(item):
        try:
            return fn(item)
        except Exception as exc:  # noqa: BLE001 - errors="return": the failure is the item's result
            return exc
    return call


def map_threads(fn, items, workers=None, errors="raise"):
    """fn over items on `workers` threads (None: all cores), results in order. torch's intra-op
    threads are shared out among the workers for the call (cores // workers each), so workers add
    parallelism instead of oversubscribing the cores; the setting is restored afterwards.
    errors="return" puts an item's exception in its place instead of raising it."""
    import os

    import torch

    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
    if errors == "return":
        fn = _returning_errors(fn)
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


def _codec_for(header, model, device):
    """The Codec a container names (or `model`, checked against the id in the header)."""
    if model is None:
        model = model_ids().get(header.model_id)
        if model is None:
            raise BitstreamError(f"blob was made with a model that is not shipped here (id {header.model_id.hex()}); "
                                 "pass model= its weights file or register it (fastcodec.zoo.register)")
    codec = Codec(model, None, device)
    if codec.id != header.model_id:
        raise BitstreamError(f"blob was made with model id {header.model_id.hex()}, not {model!r} ({codec.id.hex()})")
    if codec.rate_spec.kind != header.rate.name:
        raise BitstreamError(f"blob's rate is a {header.rate.name}, {codec.name} takes a {codec.rate_spec.kind} rate")
    try:
        codec.quality = codec.rate_spec.check(header.rate.value, "rate")
    except ValueError as exc:
        raise BitstreamError(f"invalid container: {exc}") from None
    return codec


def decode(blob, model=None, device="cpu", allow_truncated=False):
    """Decodes container bytes to a uint8 image (HxWx3, HxW for gray, HxWx4 with alpha). The
    model is looked up by the id in the header among the shipped and registered models, or given as
    a name or path. Raises BitstreamError for bytes that are not a valid container for that model.

    A progressive container cut short (fewer bytes than its header announces: a download in
    progress, a file cut at some size) raises BitstreamError unless allow_truncated=True, which
    decodes the steps it holds whole (progressive_steps(blob) tells how many). truncate() makes
    a whole file of fewer steps instead."""
    import torch

    header, streams = bitstream.unpack(blob)
    held = len(streams) - header.aux_streams
    announced = len(header.stream_lengths) - header.aux_streams
    if header.rate.kind == RATE_STEPS and int(header.rate.value) != announced:
        raise BitstreamError(f"container announces {int(header.rate.value)} steps but holds {announced} model streams")
    if held < announced and not allow_truncated:
        raise BitstreamError(f"progressive container cut short: {held} of its {announced} steps are whole; pass "
                             "allow_truncated=True (fastcodec decode --allow-truncated) to decode them")
    model_streams, alpha_stream = bitstream.split_streams(header, streams)
    codec = _codec_for(header, model, device)
    over = _over_memory(codec, header.height, header.width)
    if over:
        raise BitstreamError(f"decoding: {over}")
    try:
        x_hat = codec.model.decode_image(model_streams, (header.height, header.width), codec.quality)
    except BitstreamError:
        raise
    except (IndexError, ValueError, RuntimeError) as exc:
        raise BitstreamError(f"payload does not fit the model: {exc}") from None
    rgb = _to_uint8(x_hat[0])
    if header.color == COLOR_GRAY:
        return np.round(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8)
    if header.color == COLOR_RGBA:
        try:
            alpha = np.frombuffer(zlib.decompress(alpha_stream, bufsize=header.height * header.width), np.uint8)
        except zlib.error as exc:
            raise BitstreamError(f"alpha stream is corrupt: {exc}") from None
        if alpha.size != header.height * header.width:
            raise BitstreamError("alpha stream has the wrong size")
        return np.concatenate([rgb, alpha.reshape(header.height, header.width, 1)], axis=2)
    return rgb


def _over_memory(codec, h, w):
    """Why coding an h x w image with `codec` would exceed fastcodec.bitstream.default_limits.max_memory
    (the model's coding_memory estimate), or None."""
    need, limit = codec.model.coding_memory(h, w), bitstream.default_limits.max_memory
    if need <= limit:
        return None
    return (f"{h}x{w} pixels with {codec.name} take about {need / 2**30:.1f} GiB, over "
            f"fastcodec.bitstream.default_limits.max_memory ({limit / 2**30:.1f} GiB)")


def _to_uint8(x):
    """x float [3, h, w] in [0, 1] as a uint8 HxWx3 array, converted a band of rows at a time (a
    whole float copy of a large image would double the decoder's peak memory)."""
    import torch

    h, w = x.shape[1:]
    out = np.empty((h, w, x.shape[0]), np.uint8)
    band = max(1, (1 << 22) // max(1, w))
    for r in range(0, h, band):
        out[r:r + band] = (x[:, r:r + band].permute(1, 2, 0) * 255).round_().to(torch.uint8).cpu().numpy()
    return out


def backends(names=None):
    """{model name: how its transforms run on this machine}: the backend ("fp32", "bf16",
    "bf16-native"), where the decision came from ("measured" now, "stored" by an earlier process,
    "only candidate", "features", "FASTCODEC_BACKEND"), and for measured ones the milliseconds of
    each candidate (fastcodec.models.dispatch). names: model names or paths (None: every shipped
    model); a model measured for the first time on this machine is timed now (~1 s)."""
    from fastcodec.models import dispatch

    out = {}
    for name in names or list_models():
        model = _model(identify(name)[1], "cpu")
        if not hasattr(model, "backend"):
            out[name] = {"backend": "fp32", "source": "not dispatched"}
            continue
        record = dict(dispatch.decide(model))
        record.setdefault("candidates", list(dispatch.candidates("cpu")))
        out[name] = record
    return out


def truncate(blob, steps=None, *, bpp=None):
    """A progressive container cut to its first `steps` steps, or to the most steps whose file
    holds at most `bpp` bits per pixel (at least one step): a smaller, valid file (its header
    rewritten) that decodes to the image of those steps, without re-encoding. ValueError for other
    containers, for neither or both of steps and bpp, and for a bpp below one step's."""
    if (steps is None) == (bpp is None):
        raise ValueError("truncate: give steps or bpp (one of them)")
    if bpp is None:
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
            raise TypeError(f"steps must be an integer, got {type(steps).__name__}")
        return bitstream.truncate(blob, int(steps))
    _check_bpp(bpp)
    header, streams = bitstream.unpack(blob)
    if not header.progressive:
        raise ValueError("blob is not a progressive container: only those can be truncated")
    pixels = header.height * header.width
    best = None
    for k in range(1, len(streams) - header.aux_streams + 1):
        candidate = bitstream.truncate(blob, k)
        if 8 * len(candidate) > bpp * pixels:
            break
        best = candidate
    if best is None:
        raise ValueError(f"bpp {bpp:g} is below the first step's {8 * len(bitstream.truncate(blob, 1)) / pixels:.4f}")
    return best


def _check_bpp(bpp):
    if isinstance(bpp, bool) or not isinstance(bpp, numbers.Real):
        raise TypeError(f"bpp must be a number, got {type(bpp).__name__}")
    if not bpp > 0 or bpp != bpp or bpp == float("inf"):
        raise ValueError(f"bpp must be a positive finite number, got {bpp!r}")


def progressive_steps(blob):
    """(steps held whole, steps announced) of a container: a progressive file cut short holds
    fewer than its header announces (decode(blob, allow_truncated=True) decodes those); any other
    file holds all of them."""
    header, streams = bitstream.unpack(blob)
    return len(streams) - header.aux_streams, len(header.stream_lengths) - header.aux_streams


def decode_batch(blobs, workers=None, model=None, errors="raise", allow_truncated=False):
    """Decodes a list of blobs on `workers` threads; same result as decode() on each. errors as
    for Codec.encode_batch ("return": a bad blob's BitstreamError in its place)."""
    return map_threads(lambda b: decode(b, model=model, allow_truncated=allow_truncated), blobs, workers, errors)


__all__ = ["Codec", "DEFAULT_MODEL", "WEIGHTS_DIR", "backends", "decode", "decode_batch", "list_models", "load", "map_threads",
           "progressive_steps", "truncate"]
