"""Tile-wise transforms (fastcodec.models.tiles): the same latents, bytes and pixels as the whole
image on odd sizes and any tile size; a halo of 1 cell is not enough (so the equality is not an
accident of the test); a memory budget refuses what would not fit."""
import dataclasses

import numpy as np
import pytest
import torch

import fastcodec
from fastcodec import bitstream
from fastcodec.models import tiles

MODELS = ["bmshj2018-hyperprior", "mbt2018-mean"]


@pytest.fixture
def limits(monkeypatch):
    """A copy of the default limits, installed for the test and restored after it."""
    mine = dataclasses.replace(bitstream.default_limits)
    monkeypatch.setattr(bitstream, "default_limits", mine)
    monkeypatch.setattr(bitstream.limits, "default_limits", mine)
    return mine


def _image(h, w, seed=0):
    """A smooth image with edges and noise (texture in every tile), uint8 HxWx3."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None] * np.array([1.0, 0.7, -0.5])
    base += (xx > w // 3)[..., None] * 40.0 - (yy > h // 2)[..., None] * 30.0
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def _cells_per_tile(model, cells):
    """A tile_memory that gives tiles of about `cells` latent cells."""
    return cells * model._transform_bytes_per_pixel() * model.y_stride ** 2


@pytest.mark.parametrize(("rows", "cols", "cells"), [(10, 7, 16), (33, 5, 40), (3, 50, 24), (64, 64, 4096),
                                                     (65, 64, 4096), (17, 29, 1)])
def test_plan_covers_the_grid_once(rows, cols, cells):
    plan = tiles.plan(rows, cols, cells)
    if rows * cols <= cells:
        assert plan is None
        return
    seen = np.zeros((rows, cols), np.int32)
    for r0, r1, c0, c1 in plan:
        assert r0 % tiles.ALIGN == 0 and c0 % tiles.ALIGN == 0
        assert (r1 - r0) * (c1 - c0) <= max(cells, tiles.ALIGN ** 2)
        seen[r0:r1, c0:c1] += 1
    assert (seen == 1).all()


@pytest.mark.parametrize("name", MODELS)
def test_tiled_transforms_equal_the_whole_image(name, limits):
    model = fastcodec.load(name).model
    img = _image(250, 333)   # padded to 256 x 384: 16 x 24 latent cells
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float().div_(255)
    q = model._q(4)
    with torch.inference_mode():
        assert model.tile_plan(256, 384) is None
        y = model.analyze(x, q, (256, 384))
        y_hat = torch.round(y)
        x_hat = model.synthesize(y_hat, q)
        for cells in (16, 40, 96):
            limits.tile_memory = _cells_per_tile(model, cells)
            assert len(model.tile_plan(256, 384)) > 1
            assert torch.equal(model.analyze(x, q, (256, 384)), y), cells
            assert torch.equal(model.synthesize(y_hat, q), x_hat), cells


def test_a_halo_of_one_cell_is_not_enough(limits, monkeypatch):
    model = fastcodec.load("mbt2018-mean").model
    x = torch.from_numpy(_image(256, 256, seed=1)).permute(2, 0, 1)[None].float().div_(255)
    q = model._q(4)
    with torch.inference_mode():
        y = model.analyze(x, q, (256, 256))
        x_hat = model.synthesize(torch.round(y), q)
        limits.tile_memory = _cells_per_tile(model, 64)
        monkeypatch.setattr(tiles, "HALO", 1)
        monkeypatch.setattr(tiles, "ALIGN", 1)   # aligned starts alone would widen the halo above
        assert not torch.equal(model.analyze(x, q, (256, 256)), y)
        assert not torch.equal(model.synthesize(torch.round(y), q), x_hat)


@pytest.mark.parametrize("name", MODELS)
def test_tiled_coding_gives_the_same_bytes_and_pixels(name, limits):
    img = _image(201, 299, seed=2)
    codec = fastcodec.load(name, quality=5)
    blob = codec.encode(img)
    pixels = fastcodec.decode(blob)
    limits.tile_memory = _cells_per_tile(codec.model, 20)
    assert len(codec.model.tile_plan(256, 320)) > 1
    assert codec.encode(img) == blob
    assert np.array_equal(fastcodec.decode(blob), pixels)


def test_memory_budget_refuses_before_coding(limits):
    codec = fastcodec.load("mbt2018-mean")
    img = _image(128, 128)
    blob = codec.encode(img)
    need = codec.model.coding_memory(128, 128)
    assert 0 < need < codec.model.coding_memory(4096, 4096)
    limits.max_memory = need - 1
    with pytest.raises(ValueError, match="max_memory"):
        codec.encode(img)
    with pytest.raises(fastcodec.BitstreamError, match="max_memory"):
        fastcodec.decode(blob)
    limits.max_memory = need
    assert fastcodec.decode(blob).shape == (128, 128, 3)


def test_default_budget_admits_100_megapixels_and_bounds_the_tiles():
    model = fastcodec.load("mbt2018-mean").model
    assert model.coding_memory(10_000, 10_000) <= bitstream.default_limits.max_memory
    plan = model.tile_plan(10_048, 10_048)
    r0, r1, c0, c1 = plan[0]
    tile_pixels = (r1 - r0 + 2 * tiles.HALO) * (c1 - c0 + 2 * tiles.HALO) * model.y_stride ** 2
    assert tile_pixels * model._transform_bytes_per_pixel() <= 1.2 * bitstream.default_limits.tile_memory


def test_a_header_announcing_a_huge_image_is_refused_by_its_memory_estimate():
    codec = fastcodec.load("mbt2018-mean")
    header, streams = bitstream.unpack(codec.encode(_image(64, 64)))
    huge = bitstream.pack(codec.id, codec.rate, 30_000, 30_000, header.color, streams)
    with pytest.raises(fastcodec.BitstreamError, match="max_memory"):
        fastcodec.decode(huge)


@pytest.mark.parametrize("cells", [None, 20])
def test_uint8_input_gives_the_bytes_of_float_input(cells, limits):
    model = fastcodec.load("mbt2018-mean").model
    if cells:
        limits.tile_memory = _cells_per_tile(model, cells)
    x8 = torch.from_numpy(_image(133, 201, seed=4)).permute(2, 0, 1)[None]
    assert model.encodes_uint8
    assert model.encode_image(x8, 3) == model.encode_image(x8.float().div_(255), 3)
