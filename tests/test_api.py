"""The image API on a tiny model (fast) and on the shipped default model."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastcodec  # noqa: E402
from fastcodec.models import build  # noqa: E402
from fastcodec.train.export import export  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    model = build("mbt2018-mean", N=8, M=12)
    with torch.no_grad():
        model.gains.log_gain.add_(3.0)
        model.gains.log_inv_gain.sub_(3.0)
    zoo = tmp_path_factory.mktemp("zoo")
    export(model, "tiny", 1, zoo_dir=zoo)
    return str(zoo / "weights" / "tiny.safetensors")


def image(h, w, c=3, seed=0):
    rng = np.random.default_rng(seed)
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 3, 3), (64, 64, 3), (37, 70, 1), (20, 30, 4)])
def test_encode_decode_shapes(tiny, shape):
    im = image(shape[0], shape[1], shape[2])
    codec = fastcodec.load(tiny, quality=5)
    blob = codec.encode(im)
    out = fastcodec.decode(blob, model=tiny)
    assert out.dtype == np.uint8 and out.shape == im.shape
    if shape[2] == 4:
        np.testing.assert_array_equal(out[:, :, 3], im[:, :, 3])  # alpha is lossless


def test_pil_images(tiny):
    from PIL import Image

    codec = fastcodec.load(tiny, quality=2)
    for mode, channels in (("RGB", 3), ("L", None), ("RGBA", 4), ("P", 3)):
        pil = Image.fromarray(image(16, 24)).convert(mode)
        out = fastcodec.decode(codec.encode(pil), model=tiny)
        assert out.shape == ((16, 24, channels) if channels else (16, 24))


def test_batch_equals_single(tiny):
    codec = fastcodec.load(tiny, quality=3)
    images = [image(33, 47, seed=s) for s in range(5)]
    blobs = codec.encode_batch(images, workers=2)
    assert blobs == [codec.encode(im) for im in images]
    outs = fastcodec.decode_batch(blobs, workers=2, model=tiny)
    for out, blob in zip(outs, blobs):
        np.testing.assert_array_equal(out, fastcodec.decode(blob, model=tiny))


def _tiny_weights(path, seed):
    """Writes a small model's float weights (seeded) to path; returns its state."""
    from fastcodec import zoo

    torch.manual_seed(seed)
    return zoo.save_float_weights(build("mbt2018-mean", N=8, M=12), path)


def _assert_weights(codec, state):
    loaded = codec.model.state_dict()
    for k, v in state.items():
        torch.testing.assert_close(loaded[k], v, rtol=0, atol=0, msg=k)


def test_rewritten_weights_file_is_loaded_again(tmp_path):
    """A weights file rewritten in place is read again by the next Codec of this process, not served
    from the model cache (once the cache was keyed by the path alone)."""
    path = tmp_path / "rewritten.safetensors"
    first = _tiny_weights(path, 0)
    _assert_weights(fastcodec.load(str(path)), first)
    second = _tiny_weights(path, 1)
    assert any(not torch.equal(first[k], second[k]) for k in first)
    codec = fastcodec.load(str(path))
    _assert_weights(codec, second)
    assert fastcodec.decode(codec.encode(image(24, 32)), model=str(path)).shape == (24, 32, 3)


def test_rewritten_registered_weights_file_is_loaded_again(tmp_path, monkeypatch):
    """The same for a registered name, whose model id is fixed at registration: the file's mtime and
    size carry the change (the mtime is set a second later, as a later rewrite would leave it, since
    some filesystems' timestamps are coarser than the time between two writes here)."""
    import os

    from fastcodec import zoo

    monkeypatch.setattr(zoo, "_REGISTERED", {})
    path = tmp_path / "registered-rewritten.safetensors"
    first = _tiny_weights(path, 0)
    name = zoo.register(path)
    _assert_weights(fastcodec.load(name), first)
    before = os.stat(path)
    second = _tiny_weights(path, 1)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert os.stat(path).st_size == before.st_size  # same shapes: only the mtime tells the change
    _assert_weights(fastcodec.load(name), second)


def test_argument_errors(tiny):
    codec = fastcodec.load(tiny)
    with pytest.raises(TypeError, match="image must have dtype uint8, got float32"):
        codec.encode(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="image must have shape HxW, HxWx3 or HxWx4, got"):
        codec.encode(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError, match="image must be a numpy array or a PIL image, got list"):
        codec.encode([[1, 2, 3]])
    with pytest.raises(ValueError, match=r"quality must be in \[1, 8\], got 9"):
        fastcodec.load(tiny, quality=9)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        fastcodec.load("nope")


def test_malformed_blobs(tiny):
    codec = fastcodec.load(tiny, quality=4)
    blob = codec.encode(image(40, 40))
    for cut in range(0, len(blob), max(1, len(blob) // 60)):
        with pytest.raises(fastcodec.BitstreamError):
            fastcodec.decode(blob[:cut], model=tiny)
    rng = np.random.default_rng(0)
    for _ in range(30):
        flipped = bytearray(blob)
        flipped[rng.integers(len(blob))] ^= 1 << rng.integers(8)
        with pytest.raises(fastcodec.BitstreamError):
            fastcodec.decode(bytes(flipped), model=tiny)
    with pytest.raises(fastcodec.BitstreamError, match="not shipped here"):
        fastcodec.decode(blob)  # the tiny model is not in the package


def test_shipped_default_model_round_trip():
    if not fastcodec.list_models():
        pytest.skip("no shipped model")
    im = image(70, 90)
    codec = fastcodec.load(quality=3)
    out = fastcodec.decode(codec.encode(im))
    assert out.shape == im.shape


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("quality", [3, 2.5])
def test_codec_on_cuda_encodes_what_the_cpu_decodes(quality):
    # Codec passes the quality as a float: the quality tensor must live on the model's device
    # (once every Codec on CUDA failed in the gain lookup: "two devices, cuda:0 and cpu")
    if not fastcodec.list_models():
        pytest.skip("no shipped model")
    im = image(64, 96)
    blob = fastcodec.load(quality=quality, device="cuda").encode(im)
    gpu = fastcodec.decode(blob, device="cuda")
    cpu = fastcodec.decode(blob)
    assert cpu.shape == im.shape
    assert np.abs(gpu.astype(int) - cpu.astype(int)).max() <= 2


def test_cli_encode_info_decode(tiny, tmp_path, capsys):
    from PIL import Image

    from fastcodec.cli.main import main

    src = tmp_path / "in"
    src.mkdir()
    for k in range(3):
        Image.fromarray(image(20 + k, 30, seed=k)).save(src / f"im{k}.png")
    assert main(["encode", str(src), "-o", str(tmp_path / "fcx"), "--model", tiny, "--quality", "2.5",
                 "--workers", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "fcx").iterdir()) == ["im0.fcx", "im1.fcx", "im2.fcx"]
    assert main(["info", "--json", str(tmp_path / "fcx" / "im1.fcx")]) == 0
    assert '"height": 21' in capsys.readouterr().out
    # decoding needs the model: a blob of an unshipped model is a one-line error
    assert main(["decode", str(tmp_path / "fcx"), "-o", str(tmp_path / "png")]) == 1
    assert "not shipped here" in capsys.readouterr().err


def test_demo_on_shipped_sample(capsys):
    if not fastcodec.list_models():
        pytest.skip("no shipped model")
    from fastcodec.cli.main import main

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "sample.png: 512x384" in out and "bpp" in out and "JPEG" in out


def test_pillow_plugin(tiny, tmp_path):
    from PIL import Image

    path = tmp_path / "x.fcx"
    Image.fromarray(image(24, 40)).save(path, quality=4, model=tiny)
    with Image.open(path) as im:
        assert im.format == "FCX" and im.size == (40, 24) and im.mode == "RGB" and im.info["quality"] == 4
        with pytest.raises(fastcodec.BitstreamError, match="not shipped here"):
            im.load()
    assert Image.MIME["FCX"] == "image/x-fastcodec" and Image.EXTENSION[".fcx"] == "FCX"
    if fastcodec.list_models():
        Image.fromarray(image(24, 40, 4)).save(path, quality=2)
        with Image.open(path) as im:
            assert np.asarray(im).shape == (24, 40, 4)


def test_valid_container_with_garbage_payload(tiny):
    """A well-formed container (right id, right CRC) whose streams are garbage or missing."""
    from fastcodec.bitstream.container import pack

    codec = fastcodec.load(tiny, quality=4)
    header, streams = fastcodec.bitstream.unpack(codec.encode(image(64, 64)))
    rng = np.random.default_rng(1)
    candidates = [[streams[0]], [streams[0], b""], [b"\x00" * 9, streams[1]],
                  [rng.integers(0, 256, 300, dtype=np.uint8).tobytes(), streams[1]],
                  [streams[1], streams[0]], streams + [b"extra"]]
    for fake in candidates:
        blob = pack(header.model_id, header.quality, header.height, header.width, header.color, fake)
        with pytest.raises(fastcodec.BitstreamError):
            fastcodec.decode(blob, model=tiny)


def test_thread_count_does_not_change_decoding(tiny):
    """A blob made with one torch thread decodes identically with two, and the other way round
    (the prior path must not depend on how the work is split)."""
    im = image(80, 112, seed=3)
    before = torch.get_num_threads()
    try:
        blobs, decoded = {}, {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            blobs[threads] = fastcodec.load(tiny, quality=6).encode(im)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            decoded[threads] = [fastcodec.decode(b, model=tiny) for b in blobs.values()]
        for a, b in zip(decoded[1], decoded[2]):
            np.testing.assert_array_equal(a, b)
    finally:
        torch.set_num_threads(before)


def test_allocator_tuning_can_be_disabled(monkeypatch):
    from fastcodec import _allocator

    monkeypatch.setattr(_allocator, "_done", False)
    monkeypatch.setenv("FASTCODEC_MALLOC_TUNING", "0")
    assert _allocator.tune() is False


#: run in a fresh process (tune() changes the whole process, once): how many bytes of a 64 MB
#: block glibc serves with mmap while the block is held, before and after tune()
_MMAPPED_BEFORE_AND_AFTER = """
import ctypes, ctypes.util, json
from fastcodec import _allocator

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def mmapped_by(size):
    start = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    held = libc.mallinfo2().hblkhd
    libc.free(block)
    return held - start

before = mmapped_by(64 << 20)
applied = _allocator.tune()
print(json.dumps({"before": before, "applied": applied, "after": mmapped_by(64 << 20)}))
"""


def test_allocator_tuning_keeps_large_blocks_in_the_heap():
    """On glibc, tune() applies and does what it is for: a 64 MB block, served by a fresh mmap before,
    comes from the heap after (fastcodec/_allocator.py)."""
    import json
    import os
    import platform
    import subprocess
    import sys

    libc, version = platform.libc_ver()
    if libc != "glibc" or tuple(int(v) for v in version.split(".")[:2]) < (2, 33):
        pytest.skip(f"needs glibc >= 2.33 (mallopt, mallinfo2), this is {libc or 'another libc'} {version}")
    env = {k: v for k, v in os.environ.items() if k != "FASTCODEC_MALLOC_TUNING"}
    out = subprocess.run([sys.executable, "-c", _MMAPPED_BEFORE_AND_AFTER], env=env, capture_output=True,
                         text=True, check=True)
    result = json.loads(out.stdout)
    assert result["applied"] is True
    assert result["before"] >= 64 << 20, result    # glibc's default: a block this large is mmapped
    assert result["after"] == 0, result            # tuned: it comes from the heap
