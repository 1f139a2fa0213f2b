"""PyTorch integration: a map-style Dataset of .fcx files (or container bytes) that decodes in
the DataLoader's workers, for training on compressed data.

    from torch.utils.data import DataLoader
    from fastcodec.integrations.torch import FcxDataset
    ds = FcxDataset("shards/")                      # a folder, a list of paths, or a list of bytes
    loader = DataLoader(ds, batch_size=None, num_workers=4)

Items are CxHxW tensors (float in [0, 1] by default, or uint8 with dtype=torch.uint8): C = 3
for colour, 1 for gray, 4 with alpha. Each worker process loads a model once, on its first item
(the API's per-process model cache), and DataLoader workers run torch on one thread each. A bad
item raises BitstreamError naming it (an unreadable file its OSError; on_error="raise"), or is returned as None with
on_error="skip"; `FcxDataset.collate` then drops it from the batch and stacks the rest.
"""
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from fastcodec.errors import BitstreamError

EXTENSION = ".fcx"


def _items(source):
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        files = sorted(p for p in Path(source).rglob("*" + EXTENSION) if p.is_file())
        if not files:
            raise ValueError(f"source: no {EXTENSION} files in {os.fspath(source)}")
        return files
    if isinstance(source, (str, os.PathLike, bytes)):
        raise TypeError("source must be a folder, or a sequence of paths or container bytes")
    items = list(source)
    for k, item in enumerate(items):
        if not isinstance(item, (str, os.PathLike, bytes, bytearray, memoryview)):
            raise TypeError(f"source[{k}] must be a path or container bytes, got {type(item).__name__}")
    return items


class FcxDataset(Dataset):
    """Decoded images of a folder of .fcx files, a sequence of their paths or of container bytes."""

    def __init__(self, source, model=None, dtype=torch.float32, transform=None, on_error="raise"):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8):
            raise TypeError(f"dtype must be a float dtype or torch.uint8, got {dtype}")
        self.items = _items(source)
        self.model = model
        self.dtype = dtype
        self.transform = transform
        self.on_error = on_error

    def __len__(self):
        return len(self.items)

    def _name(self, index):
        item = self.items[index]
        return os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"item {index}"

    def _tensor(self, image):
        image = image if image.ndim == 3 else image[:, :, None]
        t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()
        return t if self.dtype == torch.uint8 else t.to(self.dtype).div_(255.0)

    def __getitem__(self, index):
        from fastcodec.api import decode

        item = self.items[index]
        try:
            blob = Path(item).read_bytes() if isinstance(item, (str, os.PathLike)) else bytes(item)
            image = self._tensor(decode(blob, model=self.model))
        except (BitstreamError, OSError) as exc:
            if self.on_error == "skip":
                return None
            if isinstance(exc, BitstreamError):
                raise BitstreamError(f"{self._name(index)}: {exc}") from exc
            raise
        return self.transform(image) if self.transform is not None else image

    @staticmethod
    def collate(batch):
        """default_collate of the items that decoded (on_error="skip" gives None for the others)."""
        from torch.utils.data import default_collate

        return default_collate([b for b in batch if b is not None])
