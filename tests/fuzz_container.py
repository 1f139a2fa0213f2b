"""Coverage-guided fuzzing of the container reader (atheris, libFuzzer's engine for Python): any
exception other than fastcodec.BitstreamError from reading bytes, or a header accepted past the
limits, is a bug. Seeds: the golden files (written into an empty corpus folder). .ci/run replays the
committed corpus (tests/fuzz_corpus/fuzz_container, grown by benchmarks/fuzz_campaign.sh), then fuzzes
from a copy of it for a fixed time:

    python tests/fuzz_container.py -max_total_time=30 -rss_limit_mb=2048 CORPUS_DIR
"""
import shlex
import sys
from pathlib import Path

import atheris

from fastcodec import bitstream  # noqa: E402
from fastcodec.errors import BitstreamError  # noqa: E402

LIMITS = bitstream.default_limits


def one_input(data):
    try:
        header, streams = bitstream.unpack(data)
    except BitstreamError:
        return
    assert header.height * header.width <= LIMITS.max_pixels
    assert len(streams) <= len(header.stream_lengths) <= LIMITS.max_streams
    assert sum(len(s) for s in streams) <= len(data)
    if header.progressive:
        model_streams = len(streams) - header.aux_streams
        cut = bitstream.truncate(data, model_streams)
        again, kept = bitstream.unpack(cut)
        assert kept == streams and again.progressive


def main(argv):
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    # seed an empty corpus folder with the golden files (not the output folder of a merge)
    if corpus and not Path(corpus[0]).is_file() and not any(a.startswith("-merge") for a in argv):
        folder = Path(corpus[0])
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.iterdir()):
            golden = Path(__file__).resolve().parent / "golden"
            for k, f in enumerate(sorted(golden.rglob("*.fcx"))):
                (folder / f"seed{k}").write_bytes(f.read_bytes())
    atheris.instrument_all()   # (an editable install's import hook defeats instrument_imports)
    # libFuzzer runs argv[0] through the shell for -merge=1 (and -fork): this interpreter on this file
    argv = [f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))}"] + argv[1:]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
