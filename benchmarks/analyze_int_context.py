"""Why does the integer context path of mbt2018 code smaller than its float path? Compares, on one
Kodak image, the integer and float entropy parameters: table indexes, means, the scales each
network gives on identical inputs, and estimated bits with either path's symbols and indexes.

    python -m benchmarks.analyze_int_context [--model mbt2018] [--image 3] [--quality 1]
"""
import argparse

import numpy as np
import torch

from fastcodec.entropy.coders import _gaussian_table, scale_indexes
from fastcodec.train.data import list_images, load_rgb
from fastcodec.zoo import load_model

KODAK = "../shared/data/kodak"


def gaussian_bits(sym, idx):
    from scipy.stats import norm

    s = _gaussian_table()[0].numpy()[idx]
    p = norm.cdf((sym + 0.5) / s) - norm.cdf((sym - 0.5) / s)
    return float(-np.log2(np.maximum(p, 1e-9)).sum())


@torch.inference_mode()
def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mbt2018")
    p.add_argument("--image", type=int, default=3)
    p.add_argument("--quality", type=int, default=1)
    a = p.parse_args(argv)
    mi = load_model(a.model)
    mf = load_model(a.model)
    mf._set_int_h_s(None)
    mf.latent_codec.int_context = None
    ic = mi.int_context
    im = load_rgb(list_images(KODAK)[a.image])
    x = mi.pad(torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255)
    q = mi._q(a.quality - 1)
    y = mi.analyze(x, q)
    z = torch.round(mi.h_a(y))
    H, W, M = y.shape[2], y.shape[3], y.shape[1]
    pixels = x.shape[2] * x.shape[3]
    # integer path (C++), indexes back to [H, W, M]
    hyper = ic.hyper_input(mi.prior_int(z))
    y_hwc = np.ascontiguousarray(y[0].permute(1, 2, 0).numpy())
    sym_i, idx_i, means_i = ic.encode(hyper, y_hwc)
    order = [i for pos, _ in ic.passes(H, W) for i in pos.tolist()]
    idx_hw = np.zeros((H * W, M), np.int32)
    idx_hw[order] = idx_i.reshape(-1, M)
    idx_hw = idx_hw.reshape(H, W, M)
    mu_i = means_i.astype(np.float64) * 2.0 ** -ic.mean_frac.numpy()[None, None, :]
    # float path
    rec = {}

    def step(scales, means, pos):
        for k, (h, w) in enumerate(pos.tolist()):
            rec[(h, w)] = (scales[k].numpy().copy(), means[k].numpy().copy())
        return torch.round(y[0, :, pos[:, 0], pos[:, 1]].t() - means)

    mf.latent_codec.serial(mf.prior(z), step)
    sc_f = np.stack([np.stack([rec[(h, w)][0] for w in range(W)]) for h in range(H)])
    mu_f = np.stack([np.stack([rec[(h, w)][1] for w in range(W)]) for h in range(H)])
    idx_f = scale_indexes(torch.from_numpy(sc_f)).reshape(H, W, M)
    print(f"{a.model}, Kodak image {a.image}, quality {a.quality}")
    print(f"mean |y - mean|: float {np.abs(y_hwc - mu_f).mean():.4f}, integer {np.abs(y_hwc - mu_i).mean():.4f}")
    print(f"table index: differs for {(idx_f != idx_hw).mean():.3f} of the latents, "
          f"mean integer - float {(idx_hw.astype(int) - idx_f).mean():+.3f}")
    sf, si = np.round(y_hwc - mu_f), np.round(y_hwc - mu_i)
    print(f"estimated bpp: float {gaussian_bits(sf, idx_f) / pixels:.4f}, integer {gaussian_bits(si, idx_hw) / pixels:.4f}, "
          f"integer symbols + float indexes {gaussian_bits(si, idx_f) / pixels:.4f}, "
          f"float symbols + integer indexes {gaussian_bits(sf, idx_hw) / pixels:.4f}")


if __name__ == "__main__":
    main()
