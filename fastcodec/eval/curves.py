"""Rate-distortion curves of the traditional codecs on a set of images, measured live (or taken
from the curve cache where its key says the same measurement was made): at each setting of the
codec's sweep, bpp from the real encoded bytes, PSNR-RGB of the 8-bit decoded image (mean of the
per-image values) and MS-SSIM (mean)."""
import json

import numpy as np

from fastcodec.eval import codecs
from fastcodec.eval.curve_cache import key as cache_key
from fastcodec.eval.metrics import ms_ssim, psnr


def check_available(names):
    """Raises ValueError naming every codec of `names` that cannot run here and what it needs."""
    reasons = [r for r in (codecs.missing(n) for n in names) if r is not None]
    if reasons:
        raise ValueError("codecs: " + "; ".join(reasons) + " (or leave them out of --codecs)")


def measure_curve(name, images, log=print):
    """[{PARAMETER: value, bpp, psnr, ms_ssim}] of codec `name` over [(name, uint8 HxWx3)] at every
    setting of its sweep."""
    codec = codecs.get(name)
    points = []
    for value in codec.sweep:
        rows = []
        for _, im in images:
            data = codecs.encode(name, im, value)
            rec = codecs.decode(name, data)
            if rec.shape != im.shape:
                raise ValueError(f"{name} decoded a {rec.shape} image from a {im.shape} one")
            rows.append((8 * len(data) / (im.shape[0] * im.shape[1]), psnr(im, rec), ms_ssim(im, rec)))
        r = np.array(rows)
        point = {codec.parameter: value, "bpp": float(r[:, 0].mean()), "psnr": float(r[:, 1].mean()),
                 "ms_ssim": float(r[:, 2].mean())}
        log(f"{name} {json.dumps(point)}")
        points.append(point)
    return points


def codec_curves(names, images, image_set_sha256, cache, record, log=print):
    """{codec: {"points": [...], "provenance": {...}}} for each of `names` on `images`: from `cache`
    (a CurveCache) where its key matches, else measured and stored there. `record`: the run's
    provenance (fastcodec.eval.provenance.run_record), kept with a measured curve."""
    check_available(names)
    out = {}
    for name in names:
        codec = codecs.get(name)
        library, settings = codecs.library_versions(name), codec.settings()
        k = cache_key(name, library, settings, image_set_sha256)
        entry = cache.get(k)
        if entry is None:
            points = measure_curve(name, images, log)
            entry = {"codec": name, "library": library, "settings": settings, "image_set_sha256": image_set_sha256,
                     "images": len(images), "points": points,
                     "measured": {f: record[f] for f in ("fastcodec", "machine", "date_utc")}}
            cache.put(k, entry)
            from_cache = False
        else:
            log(f"{name}: {len(entry['points'])} points from the cache ({cache.path}, measured "
                f"{entry['measured']['date_utc']})")
            from_cache = True
        provenance = {f: entry[f] for f in ("library", "settings", "measured")}
        out[name] = {"points": entry["points"], "provenance": {**provenance, "cache_key": k, "from_cache": from_cache}}
    return out
