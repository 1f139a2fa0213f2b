"""`fastcodec encode / decode / info`: files and folders in, files out, a progress bar on a
terminal (tqdm), writes that are atomic (a killed job leaves no half-written file), encoding that
resumes (valid outputs of the same model and rate are skipped) and a list of the files that
failed at the end, the others written."""
import io
import json
import os
import sys
import time
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}
EXTENSION = ".fcx"
TEMP_SUFFIX = ".tmp"


def expand(inputs, suffixes):
    """Files named, and the matching files inside named folders (sorted)."""
    out = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in suffixes)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {item}")
    if not out:
        raise ValueError("no input files")
    return out


def _targets(files, out, suffix):
    """Output path per input: OUT itself for a single file not ending in '/', else OUT/<stem><suffix>."""
    if out is None:
        return [f.with_suffix(suffix) for f in files]
    out = Path(out)
    if len(files) == 1 and not out.is_dir() and not str(out).endswith(("/", "\\")):
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    return [out / (f.stem + suffix) for f in files]


def progress(total, initial=0, unit="img"):
    """tqdm's bar on a terminal (off when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=unit, disable=None, file=sys.stderr)


def _temp_path(dst):
    return dst.with_name(f".{dst.name}.{os.getpid()}{TEMP_SUFFIX}")


def atomic_write(dst, data):
    """Writes bytes so that dst is either absent, its old content or all of data: a temporary file
    beside it, flushed to disk, then renamed over it. A killed job leaves no half-written file."""
    tmp = _temp_path(dst)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temps(targets):
    """Temporary files a killed earlier run left beside the targets."""
    removed = 0
    for folder in {t.parent for t in targets}:
        names = {t.name for t in targets if t.parent == folder}
        for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
            if tmp.name[1:].rsplit(".", 2)[0] in names:
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def already_encoded(dst, codec, cut=False):
    """True when dst is a whole, valid container (header and every stream's CRC) made by this
    model at this rate (cut: at most this rate, a file cut to a size): a resumed job skips it."""
    from fastcodec import bitstream
    from fastcodec.errors import BitstreamError

    try:
        header, _ = bitstream.unpack(dst.read_bytes())
    except (OSError, BitstreamError):
        return False
    rate = codec.rate
    if cut:
        return header.model_id == codec.id and header.rate.kind == rate.kind and header.rate.value <= rate.value
    return (header.model_id == codec.id and header.rate.kind == rate.kind
            and abs(header.rate.value - rate.value) < 1 / 512)


def _summary(failures, stream=None):
    stream = stream or sys.stderr
    if failures:
        print(f"{len(failures)} file(s) failed:", file=stream)
        for src, reason in failures:
            print(f"  {src}: {reason}", file=stream)


def encode_files(inputs, out, model, quality, workers, refine=0, engine="local", address=None, resume=True,
                 bpp=None):
    """Encodes image files (or folders of them) to .fcx files on an engine (fastcodec.cli.engines).
    bpp (progressive models): each file is cut to the most steps within bpp bits per pixel as it
    is written (fastcodec.truncate; no re-encoding). Returns 0, or 1 when any file failed (listed
    at the end; the others are written)."""
    import fastcodec
    from fastcodec.cli import engines

    if engine not in engines.ENGINES:
        raise ValueError(f"engine must be one of {engines.ENGINES}, got {engine!r}")
    files = expand(inputs, IMAGE_SUFFIXES)
    targets = _targets(files, out, EXTENSION)
    codec = fastcodec.load(model, quality, refine=refine)  # a bad model or quality fails here, before any engine
    if bpp is not None and not codec.model.capabilities.progressive:
        raise ValueError(f"--bpp: {codec.name} is not progressive; choose its rate with --quality")
    remove_stale_temps(targets)
    todo = [k for k, dst in enumerate(targets) if not (resume and already_encoded(dst, codec, bpp is not None))]
    skipped = len(files) - len(todo)
    start, total_out, pixels, failures = time.time(), 0, 0, []
    with progress(len(files), initial=skipped) as bar:
        jobs = engines.run(engine, [files[k] for k in todo], codec.name if model is None else model, codec.quality,
                           refine, workers, address)
        for j, row in jobs:
            src, dst = files[todo[j]], targets[todo[j]]
            if row["error"]:
                failures.append((src, row["error"]))
            else:
                blob = row["fcx"]
                if bpp is not None:
                    try:
                        blob = fastcodec.truncate(blob, bpp=bpp)
                    except ValueError as exc:
                        failures.append((src, f"ValueError: {exc}"))
                        bar.update(1)
                        continue
                atomic_write(dst, blob)
                total_out += len(blob)
                pixels += row["height"] * row["width"]
            bar.update(1)
    done = len(todo) - len(failures)
    rate = f", {8 * total_out / pixels:.4f} bpp" if pixels else ""
    print(f"encoded {done} image(s) with {codec.name} q{codec.quality:g} on {engine}: {total_out:,} bytes{rate}, "
          f"{time.time() - start:.2f} s" + (f"; {skipped} already done, skipped" if skipped else ""))
    _summary(failures)
    return 1 if failures else 0


def decode_files(inputs, out, workers, fmt, allow_truncated=False):
    import fastcodec
    from PIL import Image

    files = expand(inputs, {EXTENSION})
    targets = _targets(files, out, "." + fmt)
    remove_stale_temps(targets)
    start, failures = time.time(), []
    step = max(1, workers or os.cpu_count() or 1)
    with progress(len(files)) as bar:
        for first in range(0, len(files), step):
            chunk = list(range(first, min(first + step, len(files))))
            blobs = []
            for k in chunk:
                try:
                    blobs.append(files[k].read_bytes())
                except OSError as exc:
                    blobs.append(exc)
            images = fastcodec.decode_batch([b if isinstance(b, bytes) else b"" for b in blobs], workers=workers,
                                            errors="return", allow_truncated=allow_truncated)
            for k, blob, image in zip(chunk, blobs, images):
                result = blob if isinstance(blob, Exception) else image
                if isinstance(result, Exception):
                    failures.append((files[k], f"{type(result).__name__}: {result}"))
                else:
                    buffer = io.BytesIO()
                    Image.fromarray(result).save(buffer, format=fmt)
                    atomic_write(targets[k], buffer.getvalue())
                bar.update(1)
    print(f"decoded {len(files) - len(failures)} file(s) in {time.time() - start:.2f} s")
    _summary(failures)
    return 1 if failures else 0


def info_files(inputs, as_json):
    from fastcodec import bitstream
    from fastcodec.zoo import model_ids

    ids = {k: Path(v).stem if "/" in v or "\\" in v else v for k, v in model_ids().items()}
    for src in expand(inputs, {EXTENSION}):
        data = src.read_bytes()
        header = bitstream.read_header(data).as_dict()
        header.update(file=str(src), bytes=len(data), model=ids.get(bytes.fromhex(header["model_id"]), "unknown"),
                      bpp=8 * len(data) / (header["height"] * header["width"]))
        if as_json:
            print(json.dumps(header))
        else:
            print(f"{src}: {header['width']}x{header['height']} {header['color']}, model {header['model']} "
                  f"(id {header['model_id']}), quality {header['quality']:g}, {len(data):,} bytes, "
                  f"{header['bpp']:.4f} bpp, format v{header['format_version']}, streams {header['streams']}")
    return 0
