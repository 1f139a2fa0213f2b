"""Gaussian conditional likelihood (Ballé et al. 2018; mean-scale of Minnen et al. 2018), torch.

P(q) = Phi((q - mu + 1/2) / s) - Phi((q - mu - 1/2) / s), evaluated on the upper tail's mirror for
accuracy, with s bounded below by SCALE_BOUND and P by LIKELIHOOD_BOUND. Always float32.
"""
import math

import torch

from fastcodec.functional.bounds import lower_bound

SCALE_BOUND = 0.11
LIKELIHOOD_BOUND = 1e-9


def _std_cdf(x):
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def gaussian_likelihood(values, scales, means=None):
    values = values.float()
    scales = lower_bound(scales.float(), SCALE_BOUND)
    v = values - means.float() if means is not None else values
    v = torch.abs(v)
    lik = _std_cdf((0.5 - v) / scales) - _std_cdf((-0.5 - v) / scales)
    return lower_bound(lik, LIKELIHOOD_BOUND)
