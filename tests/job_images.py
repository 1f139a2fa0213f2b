"""The image set of the engine tests: the 24 Kodak images when ../shared/data/kodak is beside the
repository (as on the project's machines), else 24 crops of the shipped sample image, so the
tests run everywhere; plus one file that is not an image."""
from pathlib import Path

import numpy as np
from PIL import Image

import fastcodec

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"
SAMPLE = Path(fastcodec.__file__).resolve().parent / "data" / "sample.png"
MODEL, QUALITY = "bmshj2018-hyperprior", 3


def image_paths(folder):
    """24 PNG paths (Kodak or sample crops written into folder), sorted."""
    kodak = sorted(KODAK.glob("kodim*.png"))
    if len(kodak) == 24:
        return kodak
    sample = np.asarray(Image.open(SAMPLE).convert("RGB"))
    rng = np.random.default_rng(7)
    paths = []
    for k in range(24):
        h, w = int(rng.integers(96, 200)), int(rng.integers(96, 260))
        y, x = int(rng.integers(0, sample.shape[0] - h)), int(rng.integers(0, sample.shape[1] - w))
        path = Path(folder) / f"crop{k:02d}.png"
        Image.fromarray(sample[y:y + h, x:x + w]).save(path)
        paths.append(path)
    return paths


def reference_bytes(paths):
    """{path: bytes} from the local API (Codec.encode_batch), what every engine must reproduce."""
    images = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    blobs = fastcodec.load(MODEL, QUALITY).encode_batch(images, workers=2)
    return {str(p): b for p, b in zip(paths, blobs)}


def bad_file(folder):
    path = Path(folder) / "not_an_image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n this is not a PNG")
    return path


def image_set(folder):
    """(the 24 paths, their reference bytes by path, the bad file), all in or from folder."""
    paths = image_paths(folder)
    return paths, reference_bytes(paths), bad_file(folder)
