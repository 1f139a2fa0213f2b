"""Coverage-guided fuzzing of the whole decoder (atheris): fastcodec.decode on bytes made from the
fuzzer's input, with the shipped models. Every input must give a uint8 image of the size and colour
the header names, or fastcodec.BitstreamError; anything else is a bug.

An input is either a container as it is (first byte odd), or a description of one that this target
packs with valid checksums (first byte even), so the mutations reach the models' stream decoding
instead of stopping at a CRC:

    byte 1 model (index into the shipped models), byte 2 the rate (value / 16, out-of-range values
    included), bytes 3-4 height and width (1..128: a decode stays a few tens of ms and MB), byte 5
    the colour, byte 6 the stream count (1..4), then each stream as a 2-byte length and its bytes
    (the last takes what is left)

Seeds: the golden files and real encodes of small images by every shipped model (written into an
empty corpus folder). Run with a corpus folder, e.g.

    python tests/fuzz_decode.py -max_total_time=60 -rss_limit_mb=3072 CORPUS_DIR

or with files instead of a folder to run each once: .ci/run replays the committed corpus
(tests/fuzz_corpus/fuzz_decode, grown by benchmarks/fuzz_campaign.sh) that way.
"""
import gc
import shlex
import struct
import sys
from pathlib import Path

import atheris
import numpy as np
import torch

import fastcodec
import fastcodec.zoo
from fastcodec import bitstream
from fastcodec.errors import BitstreamError

MAX_SIDE = 128
MODELS = fastcodec.list_models()
IDS = {name: fastcodec.zoo.identify(name)[2] for name in MODELS}
CHANNELS = {bitstream.COLOR_RGB: (3,), bitstream.COLOR_GRAY: (), bitstream.COLOR_RGBA: (4,)}


def container_of(data):
    """The container bytes an input stands for (see the module docstring)."""
    if not data or data[0] & 1:
        return bytes(data[1:])
    head = bytes(data[1:7]).ljust(6, b"\0")
    name = MODELS[head[0] % len(MODELS)]
    rate = bitstream.Rate(bitstream.RATE_QUALITY, head[1] / 16)
    height, width = 1 + head[2] % MAX_SIDE, 1 + head[3] % MAX_SIDE
    color = head[4] % 3
    count = 1 + head[5] % 4
    rest, streams = bytes(data[7:]), []
    for k in range(count):
        if k == count - 1 or len(rest) < 2:
            streams.append(rest)
            rest = b""
            continue
        (n,) = struct.unpack_from("<H", rest)
        streams.append(rest[2:2 + n])
        rest = rest[2 + n:]
    return bitstream.pack(IDS[name], rate, height, width, color, streams)


def description_of(blob):
    """The structured input (first byte even) that container_of() turns back into `blob`."""
    header, streams = bitstream.unpack(blob)
    name = next(n for n, i in IDS.items() if i == header.model_id)
    head = bytes([0, MODELS.index(name), round(header.quality * 16), header.height - 1, header.width - 1,
                  header.color, len(streams) - 1])
    body = b"".join(struct.pack("<H", len(s)) + s for s in streams[:-1]) + streams[-1]
    return head + body


def one_input(data):
    blob = container_of(data)
    try:
        header = bitstream.read_header(blob)
    except BitstreamError:
        return
    if header.height > MAX_SIDE or header.width > MAX_SIDE:  # raw containers: keep a run's memory bounded
        return
    try:
        image = fastcodec.decode(blob)
    except BitstreamError:
        return
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8, type(image)
    assert image.shape == (header.height, header.width) + CHANNELS[header.color], (image.shape, header)


def seeds():
    """Golden files and encodes of small images by every shipped model at its lowest and highest quality."""
    golden = Path(__file__).resolve().parent / "golden"
    out = [b"\1" + f.read_bytes() for f in sorted(golden.rglob("*.fcx"))]
    rng = np.random.default_rng(0)
    shapes = [(16, 24, 3), (33, 17), (20, 20, 4)]
    for name in MODELS:
        for q in (1, 8):
            codec = fastcodec.load(name, q)
            for shape in shapes:
                image = (rng.random(shape) * 255).astype(np.uint8)
                blob = codec.encode(image)
                out += [description_of(blob), b"\1" + blob]
    return out


def instrument_fastcodec():
    """atheris instrumentation of fastcodec's Python functions only (instrument_all would also take
    torch's, slowing every call; an editable install's import hook defeats instrument_imports)."""
    for obj in gc.get_objects():
        if (callable(obj) and isinstance(getattr(obj, "__code__", None), type(one_input.__code__))
                and str(getattr(obj, "__module__", "")).startswith("fastcodec")):
            try:
                atheris.instrument_func(obj)
            except Exception:  # a builtin-like object that atheris cannot patch
                pass


def main(argv):
    torch.set_num_threads(1)
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus and not Path(corpus[0]).is_file() and not any(a.startswith("-merge") for a in argv):  # seed an empty corpus folder (not a merge's output)
        folder = Path(corpus[0])
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.iterdir()):
            for k, s in enumerate(seeds()):
                (folder / f"seed{k}").write_bytes(s)
    for name in MODELS:  # load every model (and the modules decode needs) before instrumenting
        fastcodec.decode(fastcodec.load(name, 1).encode(np.zeros((8, 8, 3), np.uint8)))
    instrument_fastcodec()
    # libFuzzer runs argv[0] through the shell for -merge=1 (and -fork): this interpreter on this file
    argv = [f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}"] + argv[1:]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
