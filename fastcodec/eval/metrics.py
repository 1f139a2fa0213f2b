"""Image quality metrics on 8-bit RGB: PSNR and MS-SSIM (Wang, Simoncelli, Bovik 2003: 5 scales,
11x11 Gaussian window with sigma 1.5, the published scale weights), torch only."""
import math

import numpy as np
import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def psnr(a, b):
    """PSNR in dB of two uint8 HxWx3 arrays (peak 255)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def _gaussian_window(size=11, sigma=1.5):
    g = torch.exp(-((torch.arange(size, dtype=torch.float64) - size // 2) ** 2) / (2 * sigma ** 2))
    return (g / g.sum()).float()


def _ssim_terms(x, y, win, data_range=255.0):
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ch = x.shape[1]
    wh = win.view(1, 1, 1, -1).repeat(ch, 1, 1, 1)
    wv = win.view(1, 1, -1, 1).repeat(ch, 1, 1, 1)

    def blur(t):
        # a dense channels_last copy: torch's CPU depthwise convolution is ~10x faster on it than on
        # NCHW or on a permuted numpy array (same sums, tests/test_eval_libraries.py)
        t = t.clone(memory_format=torch.channels_last)
        return F.conv2d(F.conv2d(t, wh, groups=ch), wv, groups=ch)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x ** 2
    syy = blur(y * y) - mu_y ** 2
    sxy = blur(x * y) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = ((2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)) * cs
    return ssim.mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def ms_ssim(a, b):
    """MS-SSIM of two uint8 HxWx3 arrays (data range 255), averaged over channels."""
    x = torch.from_numpy(np.array(a, dtype=np.float32)).permute(2, 0, 1)[None]
    y = torch.from_numpy(np.array(b, dtype=np.float32)).permute(2, 0, 1)[None]
    return float(ms_ssim_batch(x, y, 255.0)[0])


def ms_ssim_batch(x, y, data_range=1.0):
    """MS-SSIM per image of two float batches [B, C, H, W] with values in [0, data_range], averaged
    over channels; differentiable (the MS-SSIM training objective uses it)."""
    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=x.dtype, device=x.device)
    values = []
    for level in range(len(MS_SSIM_WEIGHTS)):
        # images smaller than 176 px reach the coarse scales smaller than the 11-tap window: shrink it
        size = min(11, x.shape[2], x.shape[3])
        win = _gaussian_window(size if size % 2 else size - 1)
        ssim, cs = _ssim_terms(x, y, win.to(x.device, x.dtype), data_range)
        values.append(torch.relu(cs) if level < len(MS_SSIM_WEIGHTS) - 1 else torch.relu(ssim))
        if level < len(MS_SSIM_WEIGHTS) - 1:
            x = F.avg_pool2d(x, 2, ceil_mode=False)
            y = F.avg_pool2d(y, 2, ceil_mode=False)
    stack = torch.stack(values, dim=0)  # [levels, B, C]
    return torch.prod(stack ** weights[:, None, None], dim=0).mean(dim=1)
