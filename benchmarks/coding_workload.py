"""The entropy-coding workload of the benchmarks and the coders compared on it.

Workload (as in CompressAI's Gaussian conditional): 64 scales log-spaced 0.11..256, each symbol
y = round(N(0, s)) with s = scales[index], index uniform; one latent is 192 x 32 x 48 (a Kodak
image at 1/16 scale). Every coder gets the same symbols and indexes and builds its own tables from
the same scales; peers are used through their fastest public API, including the conversions their
users pay. Peers are skipped when not installed (`pip install .[bench]`).
"""
import math

import numpy as np

from fastcodec import coding
from fastcodec.cli.demo import gaussian_latent
from fastcodec.entropy.gaussian_tables import gaussian_pmfs, scale_table

LATENT_SHAPE = (192, 32, 48)
TAIL_MASS = 1e-9


def make_latents(count, seed=0, shape=LATENT_SHAPE):
    rng = np.random.default_rng(seed)
    scales = scale_table()
    return scales, [gaussian_latent(rng, shape, scales) for _ in range(count)]


def continuous_bits(symbols, indexes, scales):
    """-log2 of each symbol's probability under the continuous Gaussian of its table scale."""
    s = scales[indexes.reshape(-1)]
    v = np.abs(symbols.reshape(-1).astype(np.float64))
    erfc = np.frompyfunc(math.erfc, 1, 1)
    upper = (0.5 * erfc(-(0.5 - v) / s / math.sqrt(2))).astype(np.float64)
    lower = (0.5 * erfc(-(-0.5 - v) / s / math.sqrt(2))).astype(np.float64)
    return float(-np.log2(np.maximum(upper - lower, 1e-300)).sum())


class FastcodecCoder:
    def __init__(self, scales, coder, threads=1):
        self.name = f"fastcodec {coder}"
        self.coder, self.threads = coder, threads
        pmfs, lengths, offsets = gaussian_pmfs(scales, TAIL_MASS)
        self.table = coding.pmf_to_cdf_table(pmfs, lengths, offsets, precision=16)

    def encode(self, latent):
        return coding.encode(latent[0], latent[1], self.table, coder=self.coder)

    def decode(self, data, latent):
        return coding.decode(data, latent[1], self.table, coder=self.coder)

    def encode_batch(self, latents):
        return coding.encode_batch([s for s, _ in latents], [i for _, i in latents], self.table,
                                   coder=self.coder, threads=self.threads)

    def decode_batch(self, blobs, latents):
        return coding.decode_batch(blobs, [i for _, i in latents], self.table, coder=self.coder, threads=self.threads)


class CompressAICoder:
    """RansEncoder/RansDecoder.encode_with_indexes / decode_with_indexes, called as CompressAI's
    GaussianConditional.compress/decompress call them: symbols, indexes and whole tables turned into
    Python lists on every call."""

    name = "CompressAI rANS"

    def __init__(self, scales):
        import torch
        from compressai.ans import RansDecoder, RansEncoder
        from compressai.entropy_models import GaussianConditional

        gc = GaussianConditional(scales.tolist(), tail_mass=TAIL_MASS)
        gc.update()
        self.torch = torch
        self.cdf, self.cdf_length, self.offset = gc._quantized_cdf, gc._cdf_length, gc._offset
        self.enc, self.dec = RansEncoder(), RansDecoder()

    def encode(self, latent):
        t = self.torch
        sym, idx = t.from_numpy(latent[0]), t.from_numpy(latent[1])
        return self.enc.encode_with_indexes(sym.reshape(-1).int().tolist(), idx.reshape(-1).int().tolist(),
                                            self.cdf.tolist(), self.cdf_length.reshape(-1).int().tolist(),
                                            self.offset.reshape(-1).int().tolist())

    def decode(self, data, latent):
        t = self.torch
        idx = t.from_numpy(latent[1])
        values = self.dec.decode_with_indexes(data, idx.reshape(-1).int().tolist(), self.cdf.tolist(),
                                              self.cdf_length.reshape(-1).int().tolist(),
                                              self.offset.reshape(-1).int().tolist())
        return t.tensor(values, dtype=t.int32).reshape(latent[1].shape).numpy()


class ConstrictionGaussian:
    """constriction's QuantizedGaussian with per-symbol means and stds (one vectorized call)."""

    def __init__(self, scales, queue=False):
        import constriction

        self.c = constriction
        self.queue = queue
        self.name = f"constriction {'Range' if queue else 'Ans'}Coder, QuantizedGaussian"
        self.scales = scales
        self.family = constriction.stream.model.QuantizedGaussian(-4096, 4096)

    def _params(self, latent):
        idx = latent[1].reshape(-1)
        return np.zeros(idx.size), self.scales[idx]

    def encode(self, latent):
        means, stds = self._params(latent)
        sym = latent[0].reshape(-1)
        if self.queue:
            enc = self.c.stream.queue.RangeEncoder()
            enc.encode(sym, self.family, means, stds)
        else:
            enc = self.c.stream.stack.AnsCoder()
            enc.encode_reverse(sym, self.family, means, stds)
        return enc.get_compressed()

    def decode(self, data, latent):
        means, stds = self._params(latent)
        dec = self.c.stream.queue.RangeDecoder(data) if self.queue else self.c.stream.stack.AnsCoder(data)
        return dec.decode(self.family, means, stds).astype(np.int32).reshape(latent[1].shape)


class ConstrictionCategorical:
    """constriction with one Categorical model per table: symbols grouped by table index (a stable
    argsort, included in the timing) so that each group is coded in one vectorized call."""

    def __init__(self, scales, queue=False):
        import constriction

        self.c = constriction
        self.queue = queue
        self.name = f"constriction {'Range' if queue else 'Ans'}Coder, Categorical tables"
        pmfs, lengths, offsets = gaussian_pmfs(scales, TAIL_MASS)
        self.offsets = offsets
        self.models = [constriction.stream.model.Categorical(pmfs[k, :lengths[k]] / pmfs[k, :lengths[k]].sum(),
                                                             perfect=False)
                       for k in range(len(scales))]

    def _groups(self, idx):
        order = np.argsort(idx, kind="stable")
        bounds = np.searchsorted(idx[order], np.arange(len(self.models) + 1))
        return order, bounds

    def encode(self, latent):
        sym, idx = latent[0].reshape(-1), latent[1].reshape(-1)
        order, bounds = self._groups(idx)
        shifted = sym[order] - self.offsets[idx[order]]
        if self.queue:
            enc = self.c.stream.queue.RangeEncoder()
            for k in range(len(self.models)):
                enc.encode(shifted[bounds[k]:bounds[k + 1]], self.models[k])
        else:
            enc = self.c.stream.stack.AnsCoder()
            for k in reversed(range(len(self.models))):
                enc.encode_reverse(shifted[bounds[k]:bounds[k + 1]], self.models[k])
        return enc.get_compressed()

    def decode(self, data, latent):
        idx = latent[1].reshape(-1)
        order, bounds = self._groups(idx)
        dec = self.c.stream.queue.RangeDecoder(data) if self.queue else self.c.stream.stack.AnsCoder(data)
        out = np.empty(idx.size, np.int32)
        for k in range(len(self.models)):
            n = bounds[k + 1] - bounds[k]
            out[order[bounds[k]:bounds[k + 1]]] = dec.decode(self.models[k], n) + self.offsets[k]
        return out.reshape(latent[1].shape)


def available_coders(scales):
    """Every coder that can run here: fastcodec's, then each installed peer."""
    coders = [FastcodecCoder(scales, "ans"), FastcodecCoder(scales, "range")]
    try:
        coders.append(CompressAICoder(scales))
    except ImportError:
        pass
    try:
        import constriction  # noqa: F401

        coders += [ConstrictionCategorical(scales), ConstrictionGaussian(scales),
                   ConstrictionCategorical(scales, queue=True), ConstrictionGaussian(scales, queue=True)]
    except ImportError:
        pass
    return coders


def nbytes(data):
    """Stream size in bytes (constriction returns uint32 word arrays)."""
    return data.nbytes if isinstance(data, np.ndarray) else len(data)
