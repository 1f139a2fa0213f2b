"""Integer (fixed-point) versions of the prior-path networks (Ballé, Johnston, Minnen 2019,
"Integer networks for data compression with latent-variable models"): the computation that picks
each symbol's table gives the same integers on every machine, thread count and batch size.

The trick that keeps the reference simple: every product and partial sum of an integer layer is an
integer below 2^53, so a float64 convolution computes it exactly whatever its summation order;
requantization between layers is integer arithmetic with defined rounding.
"""
from fastcodec.integer.network import IntSequential, freeze_sequential

__all__ = ["IntSequential", "freeze_sequential"]
