"""FcxDataset: decodes .fcx files (or bytes) to tensors in DataLoader workers, as fastcodec.decode."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import fastcodec
from fastcodec import BitstreamError
from fastcodec.integrations.torch import FcxDataset
from job_images import MODEL, QUALITY


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fcx")
    codec = fastcodec.load(MODEL, QUALITY)
    rng = np.random.default_rng(3)
    shapes = [(40, 56, 3), (40, 56, 3), (33, 47, 1), (24, 20, 4)]
    paths = []
    for k, shape in enumerate(shapes):
        image = rng.integers(0, 256, size=shape if shape[2] != 1 else shape[:2], dtype=np.uint8)
        path = folder / f"x{k}.fcx"
        path.write_bytes(codec.encode(image))
        paths.append(path)
    return folder, paths


def test_items_are_the_decoded_images(files):
    folder, paths = files
    ds = FcxDataset(folder, dtype=torch.uint8)
    assert len(ds) == len(paths)
    for k, path in enumerate(paths):
        expected = fastcodec.decode(path.read_bytes())
        expected = expected if expected.ndim == 3 else expected[:, :, None]
        assert torch.equal(ds[k], torch.from_numpy(expected).permute(2, 0, 1))
    f = FcxDataset([p.read_bytes() for p in paths])[0]
    assert f.dtype == torch.float32 and float(f.max()) <= 1.0 and f.shape == (3, 40, 56)


def test_dataloader_workers_decode_the_same(files):
    folder, paths = files
    ds = FcxDataset(paths[:2])
    batches = list(DataLoader(ds, batch_size=2, num_workers=2))
    assert len(batches) == 1 and batches[0].shape == (2, 3, 40, 56)
    assert torch.equal(batches[0][1], ds[1])


def test_bad_items_raise_naming_them_or_are_skipped(files, tmp_path):
    folder, paths = files
    bad = tmp_path / "bad.fcx"
    bad.write_bytes(paths[0].read_bytes()[:-7])
    with pytest.raises(BitstreamError, match="bad.fcx"):
        FcxDataset([bad])[0]
    ds = FcxDataset([paths[0], bad, paths[1]], on_error="skip")
    assert ds[1] is None
    batch = next(iter(DataLoader(ds, batch_size=3, collate_fn=FcxDataset.collate)))
    assert batch.shape == (2, 3, 40, 56)


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="source"):
        FcxDataset(tmp_path)
    with pytest.raises(TypeError, match="source"):
        FcxDataset([1, 2])
    with pytest.raises(ValueError, match="on_error"):
        FcxDataset([b""], on_error="ignore")
    with pytest.raises(TypeError, match="dtype"):
        FcxDataset([b""], dtype=torch.int32)
