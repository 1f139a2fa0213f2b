"""The codec protocol end to end with a model of another family (tests/progressive_toy.py: stride 8,
3 progressive steps, one stream per step), registered here and nowhere else: fastcodec.load, encode,
decode, truncate, the container, `fastcodec info` and the Pillow plugin work with it unchanged."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastcodec  # noqa: E402
from fastcodec import bitstream, models, zoo  # noqa: E402
from progressive_toy import NAME, ProgressiveToy  # noqa: E402


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    models.register(NAME, ProgressiveToy)
    path = tmp_path_factory.mktemp("toy") / f"{NAME}.safetensors"
    zoo.save_float_weights(ProgressiveToy(), path)
    zoo.register(path)
    return str(path)


def photo(h=45, w=61, c=3, seed=0):
    """A smooth image with some texture (coarse steps lose the texture, fine ones keep it)."""
    rng = np.random.default_rng(seed)
    i, j = np.mgrid[0:h, 0:w]
    base = np.stack([(i * 4 + j * 2) % 256, (128 + 60 * np.sin(i / 5.0) * np.cos(j / 7.0)), (j * 3) % 256], 2)
    im = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    if c == 4:
        im = np.concatenate([im, rng.integers(0, 256, (h, w, 1), dtype=np.uint8)], axis=2)
    return im


def psnr(a, b):
    mse = np.mean((a[..., :3].astype(np.float64) - b[..., :3].astype(np.float64)) ** 2)
    return 10 * np.log10(255 ** 2 / mse)


def test_the_model_declares_itself(weights):
    m = fastcodec.load(weights).model
    assert m.rate_spec.kind == "progressive" and m.rate_spec.progressive_steps == 3 and m.rate_spec.default == 3
    assert m.padding_multiple == 8 and m.latent_shapes(10, 17) == {"y": (6, 2, 3)}
    assert m.stream_names(2) == ["step1", "step2"] and m.capabilities.progressive


def test_encode_decode_through_the_container(weights):
    im = photo()
    blob = fastcodec.load(weights).encode(im)
    header, streams = bitstream.unpack(blob)
    assert header.version == 2 and header.progressive and header.rate == bitstream.Rate(bitstream.RATE_STEPS, 3)
    assert len(streams) == 3
    out = fastcodec.decode(blob)      # found by its id: the weights were registered
    assert out.shape == im.shape and out.dtype == np.uint8
    assert np.array_equal(out, fastcodec.decode(blob, model=weights))
    assert psnr(im, out) > 18   # 8x8 block means of a textured image


def test_every_prefix_decodes_and_each_step_adds_quality(weights):
    im = photo(seed=1)
    blob = fastcodec.load(weights, quality=3).encode(im)
    header = bitstream.read_header(blob)
    ends = np.cumsum([header.header_bytes] + header.stream_lengths)
    scores = []
    for k in (1, 2, 3):
        cut = fastcodec.decode(blob[:ends[k]], allow_truncated=True)
        assert fastcodec.progressive_steps(blob[:ends[k]]) == (k, 3)
        if k < 3:   # a cut file is an error unless the caller asks for the whole steps it holds
            with pytest.raises(fastcodec.BitstreamError, match=f"{k} of its 3 steps are whole; pass allow_truncated"):
                fastcodec.decode(blob[:ends[k]])
        whole = fastcodec.truncate(blob, k)
        assert len(whole) < len(blob) or k == 3
        assert np.array_equal(cut, fastcodec.decode(whole))
        scores.append(psnr(im, cut))
        # a cut inside the next stream decodes the same steps
        if k < 3:
            assert np.array_equal(cut, fastcodec.decode(blob[:ends[k] + 1], allow_truncated=True))
    assert scores[0] < scores[1] < scores[2]
    # fewer steps at encode time: the same bytes as a truncation
    two = fastcodec.load(weights, quality=2).encode(im)
    assert bitstream.unpack(two)[1] == bitstream.unpack(blob)[1][:2]
    with pytest.raises(fastcodec.BitstreamError, match="none of the model's streams"):
        fastcodec.decode(blob[:ends[0] + 1], allow_truncated=True)
    # truncation by size: the most steps within the budget, the same bytes as by steps
    pixels = im.shape[0] * im.shape[1]
    sizes = [len(fastcodec.truncate(blob, k)) for k in (1, 2, 3)]
    for k, size in zip((1, 2, 3), sizes):
        exact = (8 * size + 0.5) / pixels                    # the file's own bpp (and a hair above)
        assert fastcodec.truncate(blob, bpp=exact) == fastcodec.truncate(blob, k)
        assert fastcodec.load(weights, quality=3).encode(im, bpp=exact) == fastcodec.truncate(blob, k)
        if k < 3:                                            # between two steps: the lower one
            between = 8 * (size + sizes[k]) / 2 / pixels
            assert fastcodec.truncate(blob, bpp=between) == fastcodec.truncate(blob, k)
    for bad, error in ((2.5, TypeError), ("2", TypeError), (True, TypeError)):
        with pytest.raises(error, match="steps must be an integer"):
            fastcodec.truncate(blob, bad)
    with pytest.raises(TypeError, match="bpp must be a number"):
        fastcodec.truncate(blob, bpp="1")
    with pytest.raises(ValueError, match="bpp must be a positive"):
        fastcodec.load(weights, quality=3).encode(im, bpp=-1)
    with pytest.raises(ValueError, match="below the first step"):
        fastcodec.truncate(blob, bpp=0.001)
    with pytest.raises(ValueError, match="steps or bpp"):
        fastcodec.truncate(blob)


def test_alpha_survives_every_cut(weights):
    im = photo(c=4)
    blob = fastcodec.load(weights).encode(im)
    header = bitstream.read_header(blob)
    ends = np.cumsum([header.header_bytes] + header.stream_lengths)
    for k in (2, 3, 4):  # the alpha plane's stream, then the steps
        out = fastcodec.decode(blob[:ends[k]], allow_truncated=True)
        assert out.shape == im.shape and np.array_equal(out[:, :, 3], im[:, :, 3])


def test_rate_and_corruption_errors(weights):
    with pytest.raises(ValueError, match=r"quality must be an integer in \[1, 3\], got 1.5"):
        fastcodec.load(weights, quality=1.5)
    with pytest.raises(ValueError, match=r"quality must be in \[1, 3\], got 4"):
        fastcodec.load(weights, quality=4)
    blob = bytearray(fastcodec.load(weights).encode(photo()))
    header = bitstream.read_header(bytes(blob))
    second = header.header_bytes + header.stream_lengths[0] + 1
    blob[second] ^= 0x10
    with pytest.raises(fastcodec.BitstreamError, match="stream 1 checksum mismatch"):
        fastcodec.decode(bytes(blob))


def test_cli_info_and_pillow_plugin(weights, tmp_path, capsys):
    from PIL import Image

    from fastcodec.cli.main import main

    im = photo(seed=2)
    path = tmp_path / "toy.fcx"
    path.write_bytes(fastcodec.load(weights, quality=2).encode(im))
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["model"] == NAME and info["progressive"] is True and info["rate"] == "progressive"
    assert info["quality"] == 2 and len(info["streams"]) == 2
    with Image.open(path) as pil:
        assert pil.format == "FCX" and pil.size == (61, 45)
        assert np.array_equal(np.asarray(pil), fastcodec.decode(path.read_bytes()))
    Image.fromarray(im).save(tmp_path / "saved.fcx", model=weights, quality=1)
    assert bitstream.read_header((tmp_path / "saved.fcx").read_bytes()).rate.value == 1


def test_the_cli_truncates_and_decodes_cut_files(weights, tmp_path, capsys):
    from PIL import Image

    from fastcodec.cli.main import main

    im = photo(seed=5)
    blob = fastcodec.load(weights, quality=3).encode(im)
    src = tmp_path / "a.fcx"
    src.write_bytes(blob)
    assert main(["truncate", str(src), "-o", str(tmp_path / "b.fcx"), "--steps", "2"]) == 0
    assert (tmp_path / "b.fcx").read_bytes() == fastcodec.truncate(blob, 2)
    assert "2 step(s)" in capsys.readouterr().out
    cut = tmp_path / "c.fcx"
    cut.write_bytes(blob[: len(blob) - 3])
    main(["decode", str(cut), "-o", str(tmp_path / "c.png")])
    assert not (tmp_path / "c.png").exists()
    assert main(["decode", str(cut), "-o", str(tmp_path / "c.png"), "--allow-truncated"]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "c.png")), fastcodec.decode(fastcodec.truncate(blob, 2)))


def test_pillow_opens_a_cut_file_only_when_told_truncated_files_are_fine(weights, tmp_path, monkeypatch):
    from PIL import Image, ImageFile

    im = photo(seed=6)
    blob = fastcodec.load(weights, quality=3).encode(im)
    path = tmp_path / "cut.fcx"
    path.write_bytes(blob[: len(blob) - 2])
    with pytest.raises(fastcodec.BitstreamError, match="allow_truncated"):
        Image.open(path).load()
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert np.array_equal(np.asarray(Image.open(path)), fastcodec.decode(fastcodec.truncate(blob, 2)))


def test_a_progressive_file_holds_as_many_streams_as_its_rate_says(weights):
    from fastcodec.bitstream import v2

    blob = fastcodec.load(weights, quality=3).encode(photo(seed=7))
    header, streams = bitstream.unpack(blob)
    forged = v2.pack(header.model_id, bitstream.Rate(bitstream.RATE_STEPS, 2), header.height, header.width,
                     header.color, streams, progressive=True)
    with pytest.raises(fastcodec.BitstreamError, match="announces 2 steps but holds 3"):
        fastcodec.decode(forged)


def test_the_cli_encodes_to_a_size(weights, tmp_path):
    from PIL import Image

    from fastcodec.cli.main import main

    im = photo(seed=8)
    src = tmp_path / "a.png"
    Image.fromarray(im).save(src)
    blob = fastcodec.load(weights, quality=3).encode(im)
    pixels = im.shape[0] * im.shape[1]
    target = (8 * len(fastcodec.truncate(blob, 2)) + 0.5) / pixels
    assert main(["encode", str(src), "-o", str(tmp_path / "a.fcx"), "--model", weights, "--quality", "3",
                 "--bpp", str(target), "--workers", "1"]) == 0
    assert (tmp_path / "a.fcx").read_bytes() == fastcodec.truncate(blob, 2)
    assert main(["encode", str(src), "-o", str(tmp_path / "b.fcx"), "--model", "mbt2018-mean", "--bpp", "0.5"]) != 0
    assert not (tmp_path / "b.fcx").exists()
