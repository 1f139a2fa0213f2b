"""Writes tests/rd/pins.json: the bytes, bpp and PSNR of every shipped model at qualities 1, 4 and
8 on the crops of tests/rd (tests/rd_regression.py measures them; tests/test_rd_regression.py
checks them).

    python tests/make_rd_pins.py            # from the shipped weights (fastcodec/zoo/weights)
    python tests/make_rd_pins.py --spread   # how far the values move across torch thread counts and
                                            # convolution implementations (writes nothing)

Whoever re-exports or adds shipped weights runs this in the same commit, and says in it how the
values moved: the pins record each model's sha256, and the test fails for weights they were not
made from. Any other change that moves the values is what the test is there to catch.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rd_regression as rd  # noqa: E402


def pins():
    import fastcodec
    from fastcodec.zoo import manifest

    entries = manifest()
    out = {
        "note": "made by python tests/make_rd_pins.py from the shipped weights; a re-export of weights "
                "updates this file in the same commit",
        "transforms": "float32",
        "qualities": list(rd.QUALITIES),
        "crops": {p.name: rd.sha256(p) for p in rd.crop_paths()},
        "models": {},
    }
    for name in fastcodec.list_models():
        rows = rd.measure(name)
        out["models"][name] = {"sha256": entries[name]["sha256"], "rd": rows}
        print(name, "  ".join(f"q{q}: {sum(r['bpp'] for r in row.values()) / len(row):.4f} bpp "
                              f"{sum(r['psnr'] for r in row.values()) / len(row):.2f} dB"
                              for q, row in rows.items()), flush=True)
    return out


def spread():
    """The largest differences of bytes and PSNR between the default run and runs with 1 and 2 torch
    threads and with torch's native convolutions instead of oneDNN's."""
    import fastcodec
    import torch

    before = torch.get_num_threads()
    worst_bytes, worst_db = 0, 0.0
    for name in fastcodec.list_models():
        base = rd.measure(name)
        variants = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            variants[f"{threads} threads"] = rd.measure(name)
        torch.set_num_threads(before)
        with torch.backends.mkldnn.flags(enabled=False):
            variants["no oneDNN"] = rd.measure(name)
        for label, other in variants.items():
            for q, row in base.items():
                for crop, want in row.items():
                    got = other[q][crop]
                    db, nb = abs(got["psnr"] - want["psnr"]), abs(got["bytes"] - want["bytes"])
                    worst_bytes, worst_db = max(worst_bytes, nb), max(worst_db, db)
                    if nb or db:
                        print(f"{name} q{q} {crop} {label}: {got['bytes'] - want['bytes']:+d} bytes "
                              f"({(got['bytes'] / want['bytes'] - 1):+.3%}), {got['psnr'] - want['psnr']:+.4f} dB")
        print(f"{name}: worst so far {worst_bytes} bytes, {worst_db:.4f} dB", flush=True)
    return worst_bytes, worst_db


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spread", action="store_true", help="measure the spread of the values, write nothing")
    args = ap.parse_args()
    if args.spread:
        spread()
        return
    rd.PINS.write_text(json.dumps(pins(), indent=1) + "\n")
    print(f"wrote {rd.PINS}")


if __name__ == "__main__":
    main()
