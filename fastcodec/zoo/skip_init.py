"""Building a model whose weights are loaded right after, without torch's random initialization of
them (kaiming/uniform fills of every convolution: ~75 of the ~90 ms of building mbt2018-mean, which
loading then overwrites; measured 2026-12-07 on an AVX2 EPYC).

A TorchFunctionMode drops the calls of torch.nn.init's fill functions made while the block runs in
this thread (the mode stack is per thread: a model built or trained meanwhile in another thread is
untouched); everything else a constructor computes (buffers, masks, our own set-ups) still runs. The
parameters are then left as allocated, so the caller must load every one of them: zoo loading is
strict (load_state_dict raises for a missing tensor)."""
import contextlib

import torch.nn.init as init
from torch.overrides import TorchFunctionMode

_FILLS = frozenset(getattr(init, name) for name in (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_") if hasattr(init, name))


class _NoFills(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _FILLS:
            return args[0] if args else (kwargs or {}).get("tensor")
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def skip_init():
    """Inside the block, torch.nn.init's fills do nothing (in this thread)."""
    with _NoFills():
        yield
