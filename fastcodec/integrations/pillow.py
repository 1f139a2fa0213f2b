"""Pillow plugin for .fcx files (format "FCX", MIME image/x-fastcodec), registered by
`import fastcodec`:

    Image.open("x.fcx")                      # decodes on load() with the model named in the header
    img.save("x.fcx", quality=3, model=None) # encodes with a shipped model (default) or a path
"""
from PIL import Image, ImageFile

from fastcodec.bitstream import COLOR_GRAY, COLOR_RGBA, MAGIC

FORMAT = "FCX"
MIME = "image/x-fastcodec"


def _accept(prefix):
    return prefix[:4] == MAGIC


class FcxImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "fastcodec learned image"

    def _open(self):
        from fastcodec.bitstream import read_header

        self._blob = self.fp.read()
        header = read_header(self._blob)
        self._size = (header.width, header.height)
        self._mode = {COLOR_GRAY: "L", COLOR_RGBA: "RGBA"}.get(header.color, "RGB")
        self.info["quality"] = header.quality
        self.tile = []

    def load(self):
        if self._im is None:
            from fastcodec.api import decode

            from PIL import ImageFile

            # a progressive file cut short: Pillow's own switch for truncated files decides
            decoded = Image.fromarray(decode(self._blob, allow_truncated=bool(ImageFile.LOAD_TRUNCATED_IMAGES)))
            self.im = decoded.im
        return Image.Image.load(self)


def _save(im, fp, filename):
    from fastcodec.api import load

    info = im.encoderinfo
    fp.write(load(info.get("model"), info.get("quality")).encode(im))


def register():
    Image.register_open(FORMAT, FcxImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".fcx")
    Image.register_mime(FORMAT, MIME)
