"""Training crops from a folder of photos, held in memory as uint8 so a step never waits on JPEG
decoding: random crop position, random horizontal/vertical flip, float [0, 1], channels_last."""
import numpy as np
import torch
from PIL import Image

from fastcodec.eval.images import list_images, load_rgb  # noqa: F401  (the training tools' image I/O)


class CropSampler:
    def __init__(self, paths, min_side=None, jpeg_downsample=1):
        self.images = [load_rgb(p, jpeg_downsample) for p in paths]
        if min_side is not None:
            self.images = [im for im in self.images if min(im.shape[:2]) >= min_side]
        if not self.images:
            raise ValueError("no training images found")

    def __len__(self):
        return len(self.images)

    def batch(self, rng, batch_size, crop):
        out = np.empty((batch_size, crop, crop, 3), dtype=np.uint8)
        for k in range(batch_size):
            im = self.images[rng.integers(len(self.images))]
            h, w = im.shape[:2]
            ch, cw = min(crop, h), min(crop, w)
            top, left = rng.integers(h - ch + 1), rng.integers(w - cw + 1)
            patch = im[top:top + ch, left:left + cw]
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            if rng.random() < 0.5:
                patch = patch[::-1]
            if (ch, cw) != (crop, crop):  # small image: pad by reflection
                patch = np.pad(patch, ((0, crop - ch), (0, crop - cw), (0, 0)), mode="reflect")
            out[k] = patch
        x = torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)
        return x.contiguous(memory_format=torch.channels_last)
