"""`fastcodec encode / decode / info`: files and folders in, files out, a progress bar on a
terminal, one line of reason on error."""
import json
import sys
import time
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}
EXTENSION = ".fcx"


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


def _progress(done, total, start):
    if not sys.stderr.isatty() or total < 2:
        return
    width = 30
    fill = int(width * done / total)
    rate = done / max(time.time() - start, 1e-9)
    sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} {rate:.1f}/s")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _chunks(items, size):
    for k in range(0, len(items), size):
        yield items[k:k + size]


def encode_files(inputs, out, model, quality, workers, refine=0):
    import fastcodec
    from PIL import Image

    files = expand(inputs, IMAGE_SUFFIXES)
    targets = _targets(files, out, EXTENSION)
    codec = fastcodec.load(model, quality, refine=refine)
    start, done, total_in, total_out, pixels = time.time(), 0, 0, 0, 0
    step = max(1, workers or 2)
    for batch in _chunks(list(zip(files, targets)), step):
        images = []
        for src, _ in batch:
            with Image.open(src) as im:
                im.load()
                images.append(im.copy())
        blobs = codec.encode_batch(images, workers=workers)
        for (src, dst), blob, im in zip(batch, blobs, images):
            dst.write_bytes(blob)
            total_in += src.stat().st_size
            total_out += len(blob)
            pixels += im.width * im.height
        done += len(batch)
        _progress(done, len(files), start)
    print(f"encoded {len(files)} image(s) with {codec.name} q{codec.quality:g}: {total_out:,} bytes, "
          f"{8 * total_out / pixels:.4f} bpp, {time.time() - start:.2f} s")
    return 0


def decode_files(inputs, out, workers, fmt):
    import fastcodec
    from PIL import Image

    files = expand(inputs, {EXTENSION})
    targets = _targets(files, out, "." + fmt)
    start = time.time()
    for k, (src, dst) in enumerate(zip(files, targets)):
        image = fastcodec.decode(src.read_bytes())
        Image.fromarray(image).save(dst)
        _progress(k + 1, len(files), start)
    print(f"decoded {len(files)} file(s) in {time.time() - start:.2f} s")
    return 0


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
