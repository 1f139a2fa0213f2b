"""The traditional codecs the evaluation compares against, run live through their Python bindings:
JPEG (4:2:0), WebP, JPEG 2000 and AVIF through Pillow, HEIC (x265, the engine of BPG) through
pillow-heif, JPEG XL through imagecodecs (the `eval` extra installs the last two).

Each codec is a sweep of one setting (the others fixed) chosen to give a curve over roughly
0.1-2 bpp on photos, an encoder (uint8 HxWx3 array, setting -> bytes) and a decoder (bytes ->
uint8 HxWx3 array). `library_versions` names every library whose version can change the bytes;
with the settings it is part of the curve cache's key (fastcodec/eval/curve_cache.py)."""
import io
import math
from dataclasses import dataclass, field

import numpy as np

INSTALL_HINT = 'pip install "fastcodec[eval]"'


@dataclass(frozen=True)
class Codec:
    name: str
    parameter: str  # the swept setting
    sweep: tuple
    fixed: dict = field(default_factory=dict)  # the settings that stay the same over the sweep
    provider: str = "Pillow"  # the package that runs it

    def settings(self):
        """Everything that decides the bytes, as JSON-able values (part of the cache key)."""
        return {"parameter": self.parameter, "sweep": list(self.sweep), "fixed": dict(self.fixed)}


def _pil(im):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(im, dtype=np.uint8), "RGB")


def _pil_decode(data):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _pil_save(im, fmt, **options):
    buf = io.BytesIO()
    _pil(im).save(buf, fmt, **options)
    return buf.getvalue()


def _j2k_resolutions(im):
    # OpenJPEG needs each side >= 2^(resolutions-1): its default of 6 levels for photos, fewer for
    # small images (so any folder works); a rule of the size, hence the same bytes for the same image
    return max(1, min(6, int(math.log2(min(im.shape[0], im.shape[1]))) + 1))


JPEG = Codec("jpeg", "quality", (2, 5, 10, 15, 20, 30, 40, 50, 60, 75, 85, 90), {"subsampling": "4:2:0", "optimize": False})
WEBP = Codec("webp", "quality", (0, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90), {"method": 4})
JPEG2000 = Codec("jpeg2000", "target_bpp", (0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0),
                 {"irreversible": True, "mct": 1, "quality_mode": "rates (24 / target_bpp)", "no_jp2": False,
                  "num_resolutions": "min(6, 1 + floor(log2(min(height, width))))"})
AVIF = Codec("avif", "quality", (10, 20, 30, 40, 50, 55, 60, 65, 70, 75, 80, 85),
             {"speed": 6, "subsampling": "4:2:0", "codec": "auto"})
HEIC = Codec("heic", "quality", (10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60), {"chroma": 420},
             provider="pillow-heif")
JXL = Codec("jxl", "distance", (0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0), {"effort": 7},
            provider="imagecodecs")

CODECS = {c.name: c for c in (JPEG, WEBP, JPEG2000, AVIF, HEIC, JXL)}
#: what `fastcodec eval` compares against unless told otherwise (DESIGN: JPEG, WebP, JPEG 2000, AVIF, HEIC)
DEFAULT_CODECS = ("jpeg", "webp", "jpeg2000", "avif", "heic")


def get(name):
    if name not in CODECS:
        raise ValueError(f"codecs: unknown codec {name!r}; known: {', '.join(CODECS)}")
    return CODECS[name]


def _pillow_feature(feature, what):
    import PIL
    from PIL import features

    try:
        ok = features.check(feature)
    except ValueError:  # a Pillow too old to know the feature
        ok = False
    return None if ok else f"Pillow {PIL.__version__} was built without {what}"


def missing(name):
    """None when `name` can run here, else why not and what to install."""
    codec = get(name)
    if codec.provider == "Pillow":
        feature, what = {"jpeg": ("jpg", "JPEG (libjpeg)"), "webp": ("webp", "WebP (libwebp)"),
                         "jpeg2000": ("jpg_2000", "JPEG 2000 (OpenJPEG)"), "avif": ("avif", "AVIF (libavif)")}[name]
        reason = _pillow_feature(feature, what)
        return None if reason is None else f"{name}: {reason}; install a Pillow wheel (>= 11.3 for AVIF)"
    try:
        if name == "heic":
            import pillow_heif  # noqa: F401
        else:
            import imagecodecs

            if not imagecodecs.JPEGXL.available:
                return f"{name}: imagecodecs {imagecodecs.__version__} was built without JPEG XL (libjxl)"
    except ImportError:
        return f"{name}: needs {codec.provider}, which is not installed ({INSTALL_HINT})"
    return None


def library_versions(name):
    """{library: version} of everything that makes `name`'s bytes and decodes them."""
    get(name)
    if name == "heic":
        import pillow_heif

        info = pillow_heif.libheif_info()
        return {"pillow_heif": pillow_heif.__version__, "libheif": pillow_heif.libheif_version(),
                "encoder": info["encoders"].get("x265", ""), "decoder": info["decoders"].get("libde265", "")}
    if name == "jxl":
        import imagecodecs

        return {"imagecodecs": imagecodecs.__version__, "libjxl": imagecodecs.jpegxl_version()}
    import PIL
    from PIL import features

    out = {"pillow": PIL.__version__}
    if name == "jpeg":
        out.update(libjpeg=features.version("jpg"), libjpeg_turbo=features.version("libjpeg_turbo"))
    elif name == "webp":
        out.update(libwebp=features.version("webp"))
    elif name == "jpeg2000":
        out.update(openjpeg=features.version("jpg_2000"))
    elif name == "avif":
        from PIL import _avif

        out.update(libavif=features.version("avif"), av1=_avif.codec_versions())
    return out


def encode(name, im, value):
    """Bytes of uint8 HxWx3 `im` coded by codec `name` at setting `value` of its sweep's parameter."""
    codec = get(name)
    f = codec.fixed
    if name == "jpeg":
        return _pil_save(im, "JPEG", quality=int(value), subsampling=f["subsampling"], optimize=f["optimize"])
    if name == "webp":
        return _pil_save(im, "WEBP", quality=int(value), method=f["method"])
    if name == "jpeg2000":
        return _pil_save(im, "JPEG2000", irreversible=f["irreversible"], mct=f["mct"], quality_mode="rates",
                         quality_layers=[24.0 / value], num_resolutions=_j2k_resolutions(im), no_jp2=f["no_jp2"])
    if name == "avif":
        return _pil_save(im, "AVIF", quality=int(value), speed=f["speed"], subsampling=f["subsampling"],
                         codec=f["codec"])
    if name == "heic":
        import pillow_heif

        buf = io.BytesIO()
        pillow_heif.from_pillow(_pil(im)).save(buf, quality=int(value), chroma=f["chroma"])
        return buf.getvalue()
    import imagecodecs

    return bytes(imagecodecs.jpegxl_encode(np.ascontiguousarray(im), distance=float(value), effort=f["effort"]))


def decode(name, data):
    """The uint8 HxWx3 image of codec `name`'s bytes."""
    get(name)
    if name == "heic":
        import pillow_heif

        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        return np.asarray(heif.to_pillow().convert("RGB"), dtype=np.uint8)
    if name == "jxl":
        import imagecodecs

        return np.asarray(imagecodecs.jpegxl_decode(data), dtype=np.uint8)
    return _pil_decode(data)
