"""Images from folders: the evaluation sets (Kodak, the validation photos) and the training photos."""
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def list_images(root, exclude_dirs=()):
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return [p for p in files if not any(part in exclude_dirs for part in p.relative_to(root).parts)]


JPEG_SUFFIXES = {".jpg", ".jpeg"}


def load_rgb(path, jpeg_downsample=1):
    """An RGB uint8 array. jpeg_downsample > 1: a JPEG is reduced by that factor (box average of
    factor x factor blocks), which removes most of its block artifacts and restores full-resolution
    chroma where it was coded 4:2:0 (as Balle et al. did with their ImageNet training images);
    other formats are kept as they are."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if jpeg_downsample > 1 and Path(path).suffix.lower() in JPEG_SUFFIXES:
            im = im.reduce(int(jpeg_downsample))
        return np.asarray(im, dtype=np.uint8)


def image_set_sha256(images):
    """sha256 of the pixels of [(name, uint8 HxWx3 array)] in their order (names left out): equal
    for the same pixels wherever they are stored and however the files compress them."""
    h = hashlib.sha256()
    for _, im in images:
        h.update(repr(tuple(im.shape)).encode())
        h.update(np.ascontiguousarray(im, dtype=np.uint8).tobytes())
    return h.hexdigest()
