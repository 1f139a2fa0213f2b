"""Writes tests/rd/crop_*.png, the images of the RD regression tests (tests/test_rd_regression.py):
the centre 256x256 pixels of three photos of the validation set ../shared/data/val (not Kodak, not
in training), chosen for their spread of content: clouds seen from a satellite (smooth), red dresses
(one saturated colour) and the facade of a derelict factory (edges and fine detail). Their sources and licences: tests/rd/README.md.

    python tests/make_rd_crops.py [--val ../shared/data/val]

The crops are committed (about 300 KB), so the tests do not need ../shared. Remaking them changes
every pinned value: run tests/make_rd_pins.py after this.
"""
import argparse
from pathlib import Path

from PIL import Image

RD_DIR = Path(__file__).resolve().parent / "rd"
#: (crop file, source photo in ../shared/data/val)
SOURCES = (("crop_clouds.png", "wiki_015.png"), ("crop_red.png", "wiki_020.png"),
           ("crop_factory.png", "wiki_006.png"))
SIZE = 256


def centre_crop(path, size=SIZE):
    """The centre size x size pixels of an image, as RGB."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        left, top = (w - size) // 2, (h - size) // 2
        return im.crop((left, top, left + size, top + size))


def main():
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "val"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val", default=str(default), help="the validation photos (default: ../shared/data/val)")
    args = ap.parse_args()
    RD_DIR.mkdir(exist_ok=True)
    for name, source in SOURCES:
        centre_crop(Path(args.val) / source).save(RD_DIR / name, optimize=True)
        print(f"{name}: {(RD_DIR / name).stat().st_size} bytes from {source}")


if __name__ == "__main__":
    main()
