"""BD-rate of refined against unrefined encoding in one `fastcodec eval` result file: for every model
NAME with a NAME+refineN curve beside it (`fastcodec eval --refine N --merge`), the BD-rate (PSNR,
pchip) of the refined curve against the plain one and the points side by side.

    python -m benchmarks.refine_bd results/refine/kodak4_rd.json
"""
import json
import sys

from fastcodec.eval.bdrate import bd_rate_pchip


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.strip())
        return 2
    models = json.loads(open(argv[0]).read())["models"]
    for name in [k for k in models if "+refine" not in k]:
        for label in [k for k in models if k.startswith(name + "+refine")]:
            a, b = models[name], models[label]
            bd = bd_rate_pchip([p["bpp"] for p in a], [p["psnr"] for p in a], [p["bpp"] for p in b], [p["psnr"] for p in b])
            print(f"{label} vs {name}: BD-rate {bd:+.2f} %")
            for p, r in zip(a, b):
                print(f"  q{p['quality']}: {p['bpp']:.4f} bpp / {p['psnr']:.2f} dB -> {r['bpp']:.4f} / {r['psnr']:.2f}"
                      f"  (encode {p['enc_s_median']:.2f} -> {r['enc_s_median']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
