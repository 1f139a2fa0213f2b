"""Bjøntegaard delta rate (VCEG-M33): average bitrate difference in percent at equal quality over
the overlapping quality range, from cubic fits of log-rate against quality. Negative means the
test curve needs fewer bits."""
import numpy as np


def bd_rate(rate_ref, quality_ref, rate_test, quality_test):
    lr_ref, lr_test = np.log(np.asarray(rate_ref, float)), np.log(np.asarray(rate_test, float))
    q_ref, q_test = np.asarray(quality_ref, float), np.asarray(quality_test, float)
    p_ref = np.polyfit(q_ref, lr_ref, 3)
    p_test = np.polyfit(q_test, lr_test, 3)
    lo, hi = max(q_ref.min(), q_test.min()), min(q_ref.max(), q_test.max())
    if hi <= lo:
        return float("nan")
    int_ref, int_test = np.polyint(p_ref), np.polyint(p_test)
    avg_ref = (np.polyval(int_ref, hi) - np.polyval(int_ref, lo)) / (hi - lo)
    avg_test = (np.polyval(int_test, hi) - np.polyval(int_test, lo)) / (hi - lo)
    return float((np.exp(avg_test - avg_ref) - 1) * 100)


def _pchip_slopes(x, y):
    """Fritsch-Carlson monotone slopes at the knots (as scipy's PchipInterpolator)."""
    h = np.diff(x)
    delta = np.diff(y) / h
    n = len(x)
    d = np.zeros(n)
    if n == 2:
        return np.full(2, delta[0])
    for k in range(1, n - 1):
        if delta[k - 1] * delta[k] > 0:
            w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])
    for k, (h0, h1, d0, d1) in ((0, (h[0], h[1], delta[0], delta[1])), (n - 1, (h[-1], h[-2], delta[-1], delta[-2]))):
        s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(s) != np.sign(d0):
            s = 0.0
        elif np.sign(d0) != np.sign(d1) and abs(s) > abs(3 * d0):
            s = 3 * d0
        d[k] = s
    return d


def _pchip_integral(x, y, lo, hi, samples=2000):
    d = _pchip_slopes(x, y)
    t = np.linspace(lo, hi, samples)
    k = np.clip(np.searchsorted(x, t) - 1, 0, len(x) - 2)
    h = x[k + 1] - x[k]
    s = (t - x[k]) / h
    h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
    v = h00 * y[k] + h10 * h * d[k] + h01 * y[k + 1] + h11 * h * d[k + 1]
    return np.trapezoid(v, t) if hasattr(np, "trapezoid") else np.trapz(v, t)


def bd_rate_pchip(rate_ref, quality_ref, rate_test, quality_test):
    """BD-rate with piecewise cubic Hermite (PCHIP) interpolation instead of a global cubic fit:
    robust for curves with many points (the method of the anchors' tables)."""
    def prep(rate, quality):
        q, lr = np.asarray(quality, float), np.log(np.asarray(rate, float))
        order = np.argsort(q)
        return q[order], lr[order]

    q_ref, lr_ref = prep(rate_ref, quality_ref)
    q_test, lr_test = prep(rate_test, quality_test)
    lo, hi = max(q_ref.min(), q_test.min()), min(q_ref.max(), q_test.max())
    if hi <= lo:
        return float("nan")
    avg_ref = _pchip_integral(q_ref, lr_ref, lo, hi) / (hi - lo)
    avg_test = _pchip_integral(q_test, lr_test, lo, hi) / (hi - lo)
    return float((np.exp(avg_test - avg_ref) - 1) * 100)
