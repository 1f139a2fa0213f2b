"""Triton kernels (GDN/IGDN, masked convolutions) against the plain-torch references and torch.compile
of them, on a CUDA GPU; and batch encoding of a hyperprior model with and without the kernels.

    python -m benchmarks.bench_kernels            # table for BENCHMARKS.md (needs a GPU)
    pytest benchmarks/bench_kernels.py --benchmark-only

Reports median time and p20/p80 (triton.testing.do_bench) and effective bandwidth (x read once,
y written once) for activations of 256x256 crops (16 x 192 x 64 x 64 after the first layer of a
batch-16 analysis at 1/4 resolution, and others) and of Kodak-size images, with the GPU's measured
copy bandwidth for reference. Forward and forward + backward.
"""
import argparse

import pytest
import torch

SHAPES = {  # name: (B, C, H, W)
    "16 x 256^2 crops, layer 1 (1/2 res)": (16, 128, 128, 128),
    "16 x 256^2 crops, 16x192x64x64": (16, 192, 64, 64),
    "1 Kodak image, layer 1 (384x256)": (1, 128, 256, 384),
    "8 Kodak images, 1/4 res (192x128)": (8, 192, 128, 192),
}


def _bench(fn):
    from triton.testing import do_bench

    med, p20, p80 = do_bench(fn, quantiles=[0.5, 0.2, 0.8])
    return med, p20, p80


def copy_bandwidth(nbytes=1 << 30):
    src = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    med, _, _ = _bench(lambda: dst.copy_(src))
    return 2 * nbytes / (med * 1e-3) / 1e9


def run(dtype=torch.float32):
    from fastcodec.functional import gdn as reference
    from fastcodec.kernels.gdn import gdn as fused

    compiled = torch.compile(reference)
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton "
          f"{__import__('triton').__version__}, dtype {dtype}; copy bandwidth {copy_bandwidth():.0f} GB/s\n")
    print("| shape | op | runner | median ms | p20-p80 ms | GB/s | speed-up vs torch |")
    print("|---|---|---|---|---|---|---|")
    for name, (b, c, h, w) in SHAPES.items():
        x = torch.randn(b, c, h, w, device="cuda", dtype=dtype)
        beta = torch.rand(c, device="cuda") + 0.5
        gamma = torch.rand(c, c, device="cuda") * 0.1
        nbytes = 2 * x.numel() * x.element_size()
        for inverse in (False, True):
            op = "IGDN" if inverse else "GDN"
            times = {}
            for runner, fn in (("torch", reference), ("torch.compile", compiled), ("triton", fused)):
                times[runner] = _bench(lambda: fn(x, beta, gamma, inverse))
            for runner, (med, p20, p80) in times.items():
                print(f"| {name} | {op} fwd | {runner} | {med:.3f} | {p20:.3f}-{p80:.3f} | "
                      f"{nbytes / (med * 1e-3) / 1e9:.0f} | {times['torch'][0] / med:.2f}x |")


def run_masked_conv(dtype=torch.float32):
    from fastcodec.functional.masked_conv import masked_conv2d
    from fastcodec.kernels.masked_conv import masked_conv2d as fused
    from fastcodec.kernels.masked_conv import masked_conv2d_at as fused_at
    from fastcodec.layers.masked_conv import anchor_mask, checkerboard_mask, raster_mask

    print("\n| latent | mask | runner | median ms | p20-p80 ms | speed-up vs torch |")
    print("|---|---|---|---|---|---|")
    compiled = torch.compile(masked_conv2d)
    for b, h, w in ((1, 32, 48), (16, 16, 16)):
        x = torch.randn(b, 192, h, w, device="cuda", dtype=dtype)
        weight, bias = torch.randn(384, 192, 5, 5, device="cuda") * 0.05, torch.randn(384, device="cuda")
        for name, mask in (("A", raster_mask(5)), ("checkerboard", checkerboard_mask(5))):
            mask = mask.cuda()
            times = {"torch": _bench(lambda: masked_conv2d(x, weight.to(dtype), bias.to(dtype), mask)),
                     "torch.compile": _bench(lambda: compiled(x, weight.to(dtype), bias.to(dtype), mask)),
                     "triton (kept taps only)": _bench(lambda: fused(x, weight, bias, mask))}
            if name == "checkerboard":
                hw = torch.nonzero(~anchor_mask(h, w, "cuda")[0, 0])
                pos = torch.cat([torch.zeros(len(hw), 1, device="cuda", dtype=hw.dtype), hw], 1)
                times["triton, non-anchor half only"] = _bench(lambda: fused_at(x, weight, bias, mask, pos))
            for runner, (med, p20, p80) in times.items():
                print(f"| {b}x192x{h}x{w} | {name} | {runner} | {med:.3f} | {p20:.3f}-{p80:.3f} | "
                      f"{times['torch'][0] / med:.2f}x |")


def run_batch_encode(n=16, size=(512, 768)):
    """images/s of bmshj2018-hyperprior (random weights: speed only) encoding a batch on the GPU."""
    from fastcodec.layers import GDN
    from fastcodec.models import build

    model = build("bmshj2018-hyperprior").cuda().eval()
    x = torch.rand(n, 3, *size, device="cuda")
    print("\n| bmshj2018-hyperprior, analysis + hyper-analysis, batch | GDN | images/s |")
    print("|---|---|---|")
    for backend in ("torch", "auto"):
        for m in model.modules():
            if isinstance(m, GDN):
                m.backend = backend
        with torch.inference_mode():
            med, _, _ = _bench(lambda: model.h_a(torch.abs(model.g_a(x))))
        print(f"| {n} x {size[0]}x{size[1]} | {'torch reference' if backend == 'torch' else 'Triton kernel'} | "
              f"{n / (med * 1e-3):.1f} |")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gdn_forward(benchmark):
    from fastcodec.kernels.gdn import gdn

    x = torch.randn(16, 192, 64, 64, device="cuda")
    beta, gamma = torch.rand(192, device="cuda") + 0.5, torch.rand(192, 192, device="cuda") * 0.1
    benchmark(lambda: (gdn(x, beta, gamma), torch.cuda.synchronize()))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    a = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA GPU here: the kernel benchmarks need one (correctness runs under TRITON_INTERPRET=1 in tests)")
        return 0
    run(getattr(torch, a.dtype))
    run_masked_conv(getattr(torch, a.dtype))
    run_batch_encode()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
