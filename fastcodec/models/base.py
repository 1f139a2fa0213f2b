"""The transform-coding skeleton the shipped architectures share: a GDN analysis/synthesis pair with
per-quality gains, composed with a latent codec (fastcodec.latent, the model's `latent_codec`) that
quantizes and codes the latents; its side of the codec protocol (fastcodec.models.protocol) for
eight MSE qualities, padding, and compress/decompress of latents."""
import contextlib
import threading

import torch
import torch.nn.functional as F
from torch import nn

from fastcodec.functional.subpixel import conv_transpose_subpixel, subpixel_weights
from fastcodec.layers.film import gdn_positions, modulated_layers
from fastcodec.layers.fast import FastLayers
from fastcodec.layers.fast import supported as fast_layers_supported
from fastcodec.layers.gains import QualityGains
from fastcodec.models import dispatch, tiles
from fastcodec.models.conditioning import Conditioning
from fastcodec.models.qualities import LAMBDAS
from fastcodec.models.protocol import Capabilities, CodecModel
from fastcodec.models.rate import RateSpec
from fastcodec.layers.mixed import dense_channels_last, run_mixed


#: per thread: {id(model): backend} forced by LearnedCodec.forced_backend
_forced = threading.local()


def _as_float(x):
    """A uint8 image as float32 in [0, 1] (x / 255, the computation fastcodec.api made on the whole
    image), any other tensor as it is."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


class LearnedCodec(Conditioning, CodecModel):
    #: name in the zoo (CompressAI's), set by each architecture
    name = ""
    #: eight qualities trained with CompressAI's MSE λ (gain vectors interpolate fractions)
    rate_spec = RateSpec.qualities(LAMBDAS, metric="mse", default=3)
    capabilities = Capabilities(latent_search=True)
    #: encode_image takes uint8 images, converted tile by tile (a large image never whole in float)
    encodes_uint8 = True
    #: the image is padded to a multiple of this (g_a halves 4 times, h_a twice more)
    stride = 64
    #: g_a's total downsampling: y is 1/16 of the padded image (z a further 1/4)
    y_stride = 16

    def __init__(self, N, M):
        super().__init__()
        self.N, self.M = N, M
        self.gains = QualityGains(M, self.rate_spec.lambdas)

    #: How the latents are quantized and coded (fastcodec.latent): set by each architecture after
    #: its modules. A plain object, not a submodule: the networks it uses are this model's own
    #: modules (state_dict() names as they were), looked up on the model at every call.
    latent_codec = None

    @property
    def streams(self):
        """Names of the coded streams compress() returns, in order (the latent codec's)."""
        return self.latent_codec.streams

    #: Run g_s and the inner layers of g_a in bfloat16 when coding (None: as fastcodec.models.dispatch
    #: decides for this machine), as training does. Only the float transforms change: the layer producing y and the
    #: prior path stay float32, so decodability never depends on it; PSNR moves by a few
    #: hundredths of a dB.
    bf16_transforms = None

    #: how training evaluates likelihoods (fastcodec.layers.mixed.rate_input): "noise" (additive
    #: uniform noise) or "round" (the symbols actually coded, straight-through gradient). Noise
    #: biases small predicted scales upwards: with frozen transforms, "round" trains the entropy
    #: model on exactly what it codes (docs/training.md).
    rate_quantization = "noise"

    #: False while training only entropy-model parts with g_s frozen: forward() then skips the
    #: synthesis (x_hat None). With straight-through rounding the distortion does not depend on
    #: the predicted means, so the rate is the whole loss of those parts.
    synthesis_in_training = True

    def backend(self):
        """How the transforms run when coding here (fastcodec.models.dispatch): "fp32", "bf16" or
        "bf16-native"; bf16_transforms True / False forces bf16 (with the C++ kernels where they
        run) / fp32; None: measured once per machine and configuration, then stored."""
        forced = getattr(_forced, "backends", {}).get(id(self))
        if forced is not None:
            return forced
        if self.bf16_transforms is not None:
            if not self.bf16_transforms:
                return "fp32"
            return "bf16-native" if self.device.type == "cpu" and fast_layers_supported() else "bf16"
        record = self.__dict__.get("_backend_record")
        if record is None or record[0] != str(self.device):
            record = (str(self.device), dispatch.decide(self))
            self.__dict__["_backend_record"] = record
        return record[1]["backend"]

    @contextlib.contextmanager
    def forced_backend(self, backend):
        """Codes with `backend` inside the block, in this thread only (dispatch.measure times the
        candidates while other threads may be coding with the same model)."""
        forced = _forced.__dict__.setdefault("backends", {})
        before = forced.get(id(self))
        forced[id(self)] = backend
        try:
            yield
        finally:
            if before is None:
                forced.pop(id(self), None)
            else:
                forced[id(self)] = before

    def _bf16(self):
        return self.backend() != "fp32"

    def _fast_layers(self):
        """The C++ path of the bf16 transforms (fastcodec.layers.fast) when it applies
        here: the bf16-native backend on a CPU, no gradients; else None."""
        if torch.is_grad_enabled() or self.device.type != "cpu" or self.backend() != "bf16-native":
            return None
        if "_fast_layers_cache" not in self.__dict__:
            self.__dict__["_fast_layers_cache"] = FastLayers()  # not a submodule, not in state_dict()
        return self.__dict__["_fast_layers_cache"]

    #: peak working memory of g_a or g_s per pixel of the part they run on, float32 / bf16 (bytes;
    #: measured on a 2048x2048 image, mbt2018-mean, peak RSS: g_s 509 / 830, g_a 396 / 648 with
    #: bf16 emulated on an AVX2 CPU), with a margin: sizes the tiles (fastcodec.models.tiles) for
    #: fastcodec.bitstream.default_limits.tile_memory
    TRANSFORM_BYTES_PER_PIXEL = (576, 896)
    #: memory per pixel held outside the transforms while coding: the float32 image (12), the uint8
    #: image (3-6), y / y_hat, the prior's means and scales and the coder's indexes (~1 float32
    #: each per latent element: 4 * 4 * M / 256); measured, 100-MP round trip: BENCHMARKS.md
    IMAGE_BYTES_PER_PIXEL = 24

    def _transform_bytes_per_pixel(self):
        return self.TRANSFORM_BYTES_PER_PIXEL[1 if self._bf16() else 0]

    def tile_plan(self, height, width):
        """The tiles the transforms of a padded height x width image run on (fastcodec.models.tiles.plan)
        for fastcodec.bitstream.default_limits.tile_memory, or None for one whole-image pass."""
        from fastcodec.bitstream import default_limits

        cell = self.y_stride * self.y_stride
        max_cells = max(1, default_limits.tile_memory // (self._transform_bytes_per_pixel() * cell))
        return tiles.plan(height // self.y_stride, width // self.y_stride, max_cells)

    def coding_memory(self, height, width):
        """Estimated peak bytes of coding a height x width image (the tiles' working set included)."""
        H, W = self.padded_size(height, width)
        plan = self.tile_plan(H, W)
        if plan is None:
            work = H * W
        else:
            r0, r1, c0, c1 = plan[0]
            work = (r1 - r0 + 2 * tiles.HALO + tiles.ALIGN) * (c1 - c0 + 2 * tiles.HALO + tiles.ALIGN) * self.y_stride ** 2
        return self.IMAGE_BYTES_PER_PIXEL * H * W + self._transform_bytes_per_pixel() * work

    def analyze(self, x, q, size=None):
        """y = g_a(x) * gain(q), as used when coding. x: [B, 3, h, w]; size: the (H, W) to pad it to
        first (edge replicated, as pad() does; tile by tile for an image larger than a tile), None:
        x as it is."""
        H, W = size or x.shape[2:]
        plan = self.tile_plan(H, W) if x.shape[0] == 1 else None
        if plan is None:
            x = _as_float(x)
            return self._analyze(x if (H, W) == tuple(x.shape[2:]) else self.pad(x), q)
        return tiles.analysis(lambda part: self._analyze(_as_float(part), q), x, (H, W), self.y_stride, plan)

    def _analyze(self, x, q):
        x = dense_channels_last(x)
        g_a = self._coding_transform("g_a", q)
        if g_a is None:
            return self.analysis_train(x, q, self._bf16())
        fast = self._fast_layers()
        if fast is None:
            return run_mixed(g_a, x, self._bf16()) * self.gains.gain(q)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = fast.run(g_a[:-1], x)
        return g_a[-1](h.float()) * self.gains.gain(q)

    def hyper_analyze(self, y):
        """z = h_a(y) as used when coding (the scale hyperprior takes |y|); None without a side latent."""
        # inner layers in bf16 where g_a runs so (the encoder alone computes z, which is then coded:
        # decodability never depends on it), the layer producing z in float32
        return self.latent_codec.hyper_analyze(y, self._bf16())

    def synthesize(self, y_hat, q):
        """x_hat = g_s(y_hat * inv_gain(q)), as used when coding; tile by tile for a large image."""
        plan = self.tile_plan(y_hat.shape[2] * self.y_stride, y_hat.shape[3] * self.y_stride) if y_hat.shape[0] == 1 else None
        if plan is None:
            return self._synthesize(y_hat, q)
        return tiles.synthesis(lambda part: self._synthesize(part, q), y_hat, self.y_stride, plan)

    def _synthesize(self, y_hat, q):
        y = dense_channels_last(y_hat * self.gains.inv_gain(q))
        g_s = self._coding_transform("g_s", q)
        if g_s is None:  # qualities differ across the batch
            return self.synthesis_train(y, self._bf16(), q).contiguous()
        # all of g_s under bf16 autocast where enabled, its last layer too: training runs it so
        # (measured on 12 Kodak images, mbt2018-mean: +0.007 / +0.014 / +0.028 dB at q1 / q4 / q8
        # over a float32 last layer, and 15 % faster)
        tail = self._synthesis_tail()
        fast = self._fast_layers()
        layers = g_s if tail is None else g_s[:-1]
        with torch.autocast(y.device.type, dtype=torch.bfloat16, enabled=self._bf16()):
            h = layers(y) if fast is None else fast.run(layers, y)
            out = None if fast is None or tail is None else fast.last_layer(self.g_s[-1], h)
            if out is not None:
                return out
            return (h if tail is None else conv_transpose_subpixel(h, *tail)).float().contiguous()

    def synthesis_train(self, y, autocast, q=None):
        """g_s in a training pass: under bf16 autocast (when enabled), the last transposed
        convolution as the equivalent sub-pixel convolution built from its weights at every call
        (fastcodec.functional.subpixel: the same sums, so the same gradients to rounding; its
        forward is ~2x faster on CPUs for 3 output channels: 18 -> 9 ms of a 16x128^2 step).
        q: the qualities (per crop) of a model with FiLM."""
        last = self.g_s[-1]
        film = getattr(self, "film", None)
        with torch.autocast(y.device.type, dtype=torch.bfloat16, enabled=autocast):
            if film is None:
                h = self.g_s[:-1](y)
            else:
                h = modulated_layers(self.g_s[:-1], y, film, len(gdn_positions(self.g_a)), self._film_values(q))
            sub = None
            if isinstance(last, nn.ConvTranspose2d) and last.stride[0] == last.stride[1]:
                sub = subpixel_weights(last.weight, last.bias, last.stride[0], last.padding[0],
                                       last.output_padding[0])
            out = last(h) if sub is None else conv_transpose_subpixel(h, sub[0], sub[1], last.stride[0], sub[2])
        return out.float()

    def _synthesis_tail(self):
        """The last (float32) layer of g_s as a sub-pixel convolution (fastcodec.functional.subpixel:
        same sums, 2-3x faster on CPUs for 3 output channels), rebuilt when the weights change;
        None where it does not apply (training, other layer types)."""
        last = self.g_s[-1]
        if not isinstance(last, nn.ConvTranspose2d) or (torch.is_grad_enabled() and last.weight.requires_grad):
            return None
        key = (last.weight.data_ptr(), last.weight._version, last.weight.device)
        cached = self.__dict__.get("_gs_tail")
        if cached is None or cached[0] != key:
            with torch.no_grad():
                w = subpixel_weights(last.weight.float(), last.bias.float() if last.bias is not None else None,
                                     last.stride[0], last.padding[0], last.output_padding[0])
            if w is None or last.stride[0] != last.stride[1]:
                return None
            weight, bias, pad = w
            cached = (key, (weight.contiguous(memory_format=torch.channels_last), bias, last.stride[0], pad))
            self.__dict__["_gs_tail"] = cached
        return cached[1]

    @property
    def device(self):
        return self.g_a[0].weight.device

    # -- the codec protocol (fastcodec.models.protocol) ----------------------------------------
    @property
    def padding_multiple(self):
        return self.stride

    @property
    def num_streams(self):
        return len(self.streams)

    def latent_shapes(self, height, width):
        H, W = self.padded_size(height, width)
        shapes = {"y": (self.M, H // self.y_stride, W // self.y_stride)}
        if "z" in self.streams:
            shapes["z"] = (self.N, H // self.stride, W // self.stride)
        return shapes

    def stream_names(self, rate):
        return list(self.streams)

    def encode_image(self, x, rate):
        return self.compress(x, self.rate_spec.index(rate))["strings"]

    def decode_image(self, streams, size, rate):
        if len(streams) != self.num_streams:
            raise ValueError(f"{self.name} codes {self.num_streams} stream(s), got {len(streams)}")
        _, h16, w16 = self.latent_shapes(*size)["y"]
        return self.decompress(streams, (h16, w16), size, self.rate_spec.index(rate))

    @property
    def extra_state_prefixes(self):
        return (self.TABLE_PREFIX,) + tuple(self.latent_codec.integer_prefixes)

    def extra_state(self):
        """The coding tables (int32) and the frozen integer prior of these weights."""
        state = {k: v.to(torch.int32).contiguous() for k, v in self.coding_tables().items()}
        state.update(self.integer_state())
        return state

    def load_extra_state(self, tensors):
        self.set_coding_tables({k: v for k, v in tensors.items() if k.startswith(self.TABLE_PREFIX)})
        prefixes = tuple(self.latent_codec.integer_prefixes)
        self.set_integer_state({k: v for k, v in tensors.items() if prefixes and k.startswith(prefixes)})

    # -- the prior path: the latent codec's (fastcodec.latent.hyperprior) -------------------------
    @property
    def int_h_s(self):
        """The frozen integer h_s (fastcodec.integer) when the weights carry one: then the prior
        path gives the same integers on every machine; else None and the float h_s is used (same
        machine kind only). Held by the latent codec: it is not part of state_dict()."""
        return getattr(self.latent_codec, "int_h_s", None)

    def _set_int_h_s(self, value):
        self.latent_codec.int_h_s = value

    def prior(self, z_hat):
        """h_s of the decoded side latent, as encoder and decoder compute it to pick the tables of y
        (fastcodec.latent.hyperprior.HyperpriorLatent.prior)."""
        return self.latent_codec.prior(z_hat)

    #: where the int32 h_s runs: "auto" (Triton for a model on a CUDA GPU with Triton installed,
    #: else C++), "core" (C++), "reference" (torch) or "triton" (fastcodec.kernels; a GPU, or
    #: TRITON_INTERPRET=1): the same integers from each. v1 networks run the reference.
    prior_backend = "auto"

    def prior_int(self, z_hat, backend=None):
        """The frozen integer h_s output as integers (HyperpriorLatent.prior_int)."""
        return self.latent_codec.prior_int(z_hat, backend)

    def prior_hwc(self, z_hat, backend=None):
        """The integer h_s output as the C++ core gives it, or None (HyperpriorLatent.prior_hwc)."""
        return self.latent_codec.prior_hwc(z_hat, backend)

    def _z_int(self, z_hat):
        return self.latent_codec._z_int(z_hat)

    def freeze_prior(self, calibration):
        """Freezes the prior path into integers (h_s; the context path too, given (y, z) pairs), its
        fixed-point formats chosen on latents of real images: a list of z [1, N, h, w] or of (y, z)
        pairs. Returns the integer h_s."""
        return self.latent_codec.freeze_prior(calibration)

    def integer_state(self):
        """{name: tensor} of the frozen integer prior to ship with the weights (fastcodec.integer.state)."""
        return self.latent_codec.integer_state()

    def set_integer_state(self, tensors):
        """Rebuilds the frozen integer networks from integer_state() tensors (fastcodec.integer.state)."""
        self.latent_codec.set_integer_state(tensors)

    def config(self):
        """Constructor arguments that rebuild this model (stored with its weights)."""
        cfg = {"N": self.N, "M": self.M}
        if getattr(self, "film", None) is not None:
            cfg["film"] = True
        filters = getattr(getattr(self, "entropy_bottleneck", None), "filters", (3, 3, 3))
        if tuple(filters) != (3, 3, 3):
            cfg["eb_filters"] = list(filters)
        return cfg

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self.latent_codec.reset()   # tables and integer networks of the previous weights
        self.__dict__.pop("_film_cache", None)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # -- coding tables of the factorized densities (fastcodec.latent.factorized) -----------------
    def factorized_coder(self, bottleneck_name="entropy_bottleneck"):
        """Coding tables of an EntropyBottleneck: the ones shipped with the weights, else built from
        the density once per loaded weights."""
        return self._factorized_latent(bottleneck_name).coder()

    def _factorized_latent(self, bottleneck_name):
        latents = self.latent_codec.factorized_latents()
        if bottleneck_name not in latents:
            raise ValueError(f"{self.name} codes no latent with {bottleneck_name!r}; it has {sorted(latents)}")
        return latents[bottleneck_name]

    @property
    def _coders(self):
        """{bottleneck name: FactorizedCoder} installed or built so far; assigning a dict installs
        those coders and forgets the others."""
        return {name: f.built_coder for name, f in self.latent_codec.factorized_latents().items()
                if f.built_coder is not None}

    @_coders.setter
    def _coders(self, coders):
        for name, f in self.latent_codec.factorized_latents().items():
            f.set_coder(coders.get(name))

    TABLE_PREFIX = "tables."

    def coding_tables(self):
        """{name: int32 tensor} of the integer coding tables of each entropy bottleneck, to ship with
        the weights (fastcodec.entropy.table_io)."""
        from fastcodec.entropy.table_io import tables_state

        tables = {name: f.coder().table for name, f in self.latent_codec.factorized_latents().items()}
        return tables_state(tables, self.TABLE_PREFIX)

    def set_coding_tables(self, tensors):
        """Installs tables saved by coding_tables() (call after load_state_dict)."""
        from fastcodec.entropy.table_io import load_tables

        for name, table in load_tables(tensors, self.TABLE_PREFIX).items():
            self._factorized_latent(name).set_table(table)

    def _q(self, q):
        # on the model's device: a fractional quality interpolates gain rows held there
        return torch.as_tensor([q], dtype=torch.float32 if isinstance(q, float) else torch.long, device=self.device)

    def pad(self, x):
        h, w = x.shape[2:]
        H, W = self.padded_size(h, w)
        if (H, W) == (h, w):
            return x
        mode = "replicate" if h > 1 and w > 1 else "constant"
        return F.pad(x, (0, W - w, 0, H - h), mode=mode)

    def prepare(self, x, q, pad=True):
        """(padded image, quality tensor, latent size (h16, w16)) of x [1, 3, h, w] in [0, 1] at
        0-based quality q, in eval mode: what compress and the encoder-side search start from.
        pad=False leaves the padding to analyze() (which pads tile by tile)."""
        if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"x must have shape [1, 3, H, W], got {tuple(x.shape)}")
        self.eval()
        x = x.to(self.device) if x.dtype == torch.uint8 and not pad else _as_float(x.to(self.device)).float()
        H, W = self.padded_size(*x.shape[2:])
        return (self.pad(x) if pad else x), self._q(q), (H // self.y_stride, W // self.y_stride)

    def compress(self, x, q):
        """x: float [1, 3, h, w] in [0, 1], any size; q: 0-based quality (int, or float to
        interpolate). Returns {"strings": [bytes, ...], "latent": (h16, w16), "size": (h, w)}.
        The encoder-side search (fastcodec.search) codes other latents through code_latents."""
        xp, qt, latent = self.prepare(x, q, pad=False)
        with torch.inference_mode():
            y, z = self.encode_latents(xp, qt)
            strings = self.code_latents(y, z, qt)
        return {"strings": strings, "latent": latent, "size": tuple(x.shape[2:])}

    def encode_latents(self, x, q):
        """The encoder's latents of an image (padded, or padded here to padded_size): y = g_a(x) *
        gain(q) and, for models with a hyperprior, z = h_a(y) (else None)."""
        y = self.analyze(x, q, self.padded_size(*x.shape[2:]))
        return y, self.hyper_analyze(y)

    def forward(self, x, q, autocast=False):
        """A training/evaluation pass. q: LongTensor [B] of 0-based qualities. Returns x_hat (None
        while synthesis_in_training is False) and the float32 likelihoods of the latents, as the
        latent codec evaluates them (noise or straight-through rounding, per rate_quantization)."""
        y = self.analysis_train(x, q, autocast)
        y_hat, likelihoods = self.latent_codec.forward(y, q, autocast)
        x_hat = (self.synthesis_train(y_hat * self.gains.inv_gain(q), autocast, q)
                 if self.synthesis_in_training else None)
        return {"x_hat": x_hat, "likelihoods": likelihoods}

    def relaxed_rd(self, y, z, q, quantize, autocast=False, hyper=None):
        """(x_hat, bits, y_t) of latents y, z with `quantize` (rounding or a differentiable relaxation
        of it) in place of rounding, y_t the quantized y as the synthesis gets it: the objective of
        encoder-side refinement (fastcodec.search). hyper: h_s's output for round(z), given (the
        coder's own, prior()) when z is no longer refined."""
        y_t, bits = self.latent_codec.relaxed(y, z, q, quantize, autocast, hyper)
        return self.synthesis_train(y_t * self.gains.inv_gain(q), autocast, q), bits, y_t

    @torch.inference_mode()
    def decompress(self, strings, latent, size, q):
        """Inverse of compress: returns x_hat float [1, 3, h, w] clamped to [0, 1]."""
        self.eval()
        x_hat = self._decompress(strings, tuple(latent), self._q(q))
        return x_hat[:, :, : size[0], : size[1]].clamp_(0, 1)

    def code_latents(self, y, z, q):
        """The coded streams of the latents y (and z) from encode_latents (or refined)."""
        return self._compress(y, z, q)

    def _compress(self, y, z, q):
        return self.latent_codec.compress(y, z, q)

    def _decompress(self, strings, latent, q):
        return self.synthesize(self.latent_codec.decompress(strings, tuple(latent), q), q)
