"""The hyperprior latent codec (Ballé et al. 2018; Minnen, Ballé, Toderici 2018): a side latent
z = h_a(y), coded with a factorized density (FactorizedLatent), from which h_s predicts per element
of y the scale ("scale-only", bmshj2018-hyperprior) or the scale and mean ("mean-scale",
mbt2018-mean) of the Gaussian conditional that codes y (fastcodec.entropy.coders.GaussianCoder).

The prior path, h_s of the decoded z, picks the tables of y: encoder and decoder must compute it
identically. A frozen integer h_s (fastcodec.integer.conv, int_h_s, shipped with the weights) makes
it exact fixed point on every machine; without one the float h_s is used (same machine kind only).
The owner (fastcodec.latent) holds h_a, h_s and entropy_bottleneck and the setting prior_backend."""
import torch

from fastcodec.entropy.coders import GaussianCoder
from fastcodec.entropy.gaussian import gaussian_likelihood
from fastcodec.latent.factorized import FactorizedLatent
from fastcodec.layers.mixed import rate_input, round_ste, run_mixed


def calibration_z(calibration):
    """calibration: a list of z tensors or of (y, z) pairs -> the z tensors."""
    return [c[1] if isinstance(c, (tuple, list)) else c for c in calibration]


class HyperpriorLatent:
    streams = ("z", "y")
    #: h_a's downsampling: z is 1/4 of y in each dimension
    z_stride = 4
    #: weights-file prefix of the frozen integer h_s (not part of state_dict())
    INT_PREFIX = "int_h_s."
    integer_prefixes = ("int_h_s.",)

    def __init__(self, owner, mean_scale=True):
        """owner: the model holding h_a, h_s and entropy_bottleneck (see fastcodec.latent).
        mean_scale: h_s predicts (scales, means) (2M channels); else scales alone (M channels), and
        then, as in bmshj2018-hyperprior, h_a takes |y| and h_s ends in a ReLU kept in float32 with
        the convolution before it."""
        self.owner = owner
        self.mean_scale = bool(mean_scale)
        self.abs_input = not self.mean_scale
        #: layers at the end of h_s run in float32 in training (run_mixed's tail)
        self.h_s_tail = 1 if self.mean_scale else 2
        #: the side latent z
        self.z = FactorizedLatent(owner, "entropy_bottleneck")
        #: the frozen integer h_s, or None (not part of state_dict())
        self.int_h_s = None

    @property
    def h_a(self):
        return self.owner.h_a

    @property
    def h_s(self):
        return self.owner.h_s

    def split(self, params):
        """h_s output -> (scales, means); means None for a scale-only prior."""
        return params.chunk(2, 1) if self.mean_scale else (params, None)

    # -- training and search -------------------------------------------------------------------
    def hyper_analyze(self, y, autocast=False):
        """z = h_a(y) (of |y| for a scale-only prior); the inner layers in bf16 where autocast, the
        layer producing z in float32."""
        return run_mixed(self.h_a, torch.abs(y) if self.abs_input else y, autocast)

    def hyper_train(self, y, autocast=False):
        """(likelihoods of z, h_s output) of a training/evaluation pass."""
        z = self.hyper_analyze(y, autocast)
        z_t = rate_input(self.owner, z)
        return self.z.likelihood(z_t), run_mixed(self.h_s, z_t, autocast, self.h_s_tail)

    def output(self, y, scales, means, z_lik):
        """(y_hat, likelihoods): the likelihoods of y under N(means, scales) and y rounded around the
        means with a straight-through gradient ("mixed" quantization, Minnen & Singh 2020)."""
        if means is None:
            y_lik = gaussian_likelihood(rate_input(self.owner, y), scales)
            return round_ste(y), {"y": y_lik, "z": z_lik}
        y_lik = gaussian_likelihood(rate_input(self.owner, y, means), scales, means)
        return round_ste(y - means) + means, {"y": y_lik, "z": z_lik}

    def forward(self, y, q, autocast=False):
        """Training pass: noise (or straight-through rounding) for the rate, rounding around the
        predicted mean for the synthesis. Returns (y_hat, float32 likelihoods of y and z)."""
        z_lik, params = self.hyper_train(y, autocast)
        scales, means = self.split(params)
        return self.output(y, scales, means, z_lik)

    def relaxed_hyper(self, z, quantize, autocast, hyper):
        """(z as quantized, h_s output) for relaxed(): relaxed through the float h_s, or round(z)
        with the given h_s output (the coder's own, once z is no longer refined)."""
        if hyper is not None:
            return torch.round(z), hyper
        z_t = quantize(z)
        return z_t, run_mixed(self.h_s, z_t, autocast, self.h_s_tail)

    def relaxed_bits(self, y_t, scales, means, z_t):
        return -(torch.log2(gaussian_likelihood(y_t, scales, means)).sum()
                 + torch.log2(self.z.likelihood(z_t)).sum())

    def relaxed(self, y, z, q, quantize, autocast=False, hyper=None):
        """(y_t, bits) of latents y, z with `quantize` (rounding or a differentiable relaxation of it)
        in place of rounding, y_t the quantized y as the synthesis gets it: the rate of encoder-side
        refinement (fastcodec.search). hyper: h_s's output for round(z), given (the coder's own,
        prior()) when z is no longer refined."""
        z_t, params = self.relaxed_hyper(z, quantize, autocast, hyper)
        scales, means = self.split(params)
        y_t = quantize(y) if means is None else quantize(y - means) + means
        return y_t, self.relaxed_bits(y_t, scales, means, z_t)

    # -- coding ----------------------------------------------------------------------------------
    def z_shape(self, y_shape):
        return (1, self.z.channels, y_shape[0] // self.z_stride, y_shape[1] // self.z_stride)

    def hyper(self, z):
        """Encoder side: (z string, h_s output of the rounded z)."""
        return self.z.encode(z), self.prior(torch.round(z))

    def hyper_decode(self, z_string, y_shape):
        """Decoder side: the h_s output of the decoded z."""
        return self.prior(self.z.decode(z_string, self.z_shape(y_shape), self.owner.device))

    def compress(self, y, z, q=None):
        """[z string, y string] of the latents y [1, M, h, w] and z [1, N, h/4, w/4]."""
        z_string, params = self.hyper(z)
        scales, means = self.split(params)
        return [z_string, GaussianCoder.encode(y, scales, means)]

    def decompress(self, strings, y_shape, q=None):
        """y_hat [1, M, h, w] of y_shape = (h, w) from compress's strings."""
        scales, means = self.split(self.hyper_decode(strings[0], y_shape))
        return GaussianCoder.decode(strings[1], scales, means)

    def factorized_latents(self):
        return {self.z.module: self.z}

    # -- the prior path --------------------------------------------------------------------------
    def prior(self, z_hat):
        """h_s of the decoded side latent: THE computation that picks the tables of y, run
        identically by encoder and decoder. With a frozen integer h_s the result is exact fixed
        point (bit-identical everywhere). The float fallback gets its input in one canonical form
        (float32, contiguous NCHW), since convolution results depend on the memory layout in the
        last bits and the encoder's z comes out of channels_last transforms while the decoder's is
        built from decoded integers."""
        if self.int_h_s is not None:
            ihs = self.int_h_s
            scale = torch.pow(2.0, -torch.as_tensor(ihs.out_frac).double())
            hwc = self.prior_hwc(z_hat)
            if hwc is not None:
                # int16 * 2^-frac is exact in float32: the same values as the float64 route below
                # converted straight into a contiguous float32 NCHW tensor and scaled in place: one
                # latent-sized float array, not three (2.1 -> 0.9 GB at 100 megapixels)
                out = torch.empty((1, hwc.shape[2], hwc.shape[0], hwc.shape[1]), dtype=torch.float32)
                out[0].copy_(torch.from_numpy(hwc).permute(2, 0, 1))
                out.mul_(scale.float().reshape(1, -1, 1, 1))
                return out.to(z_hat.device)
            out = self.prior_int(z_hat).double() * scale.reshape(1, -1, 1, 1)
            return out.float().to(z_hat.device)
        return self.h_s(z_hat.to(torch.float32).contiguous())

    def prior_int(self, z_hat, backend=None):
        """The frozen integer h_s output as integers (int64 [1, 2M or M, H, W], int_h_s.out_frac
        fractional bits: one format (v1) or one per channel (int32 networks)). backend: the owner's
        prior_backend when None: "auto" (Triton for a latent on a CUDA GPU with Triton installed,
        else C++), "core" (C++), "reference" (torch) or "triton"."""
        ihs = self.int_h_s
        backend = backend or self.owner.prior_backend
        if backend == "auto":
            from fastcodec.layers.gdn import triton_available

            backend = "triton" if z_hat.is_cuda and triton_available() else "core"
        return ihs.forward_int(self._z_int(z_hat), backend)

    def prior_hwc(self, z_hat, backend=None):
        """The integer h_s output as the C++ core gives it (int16 numpy [H, W, C], channel-last)
        where h_s runs there (an int32 network on the "core" backend), else None."""
        ihs = self.int_h_s
        backend = backend or self.owner.prior_backend
        if backend == "auto":
            backend = "core" if not z_hat.is_cuda else None
        if backend != "core" or not hasattr(ihs, "forward_hwc"):
            return None
        return ihs.forward_hwc(self._z_int(z_hat))

    def _z_int(self, z_hat):
        """The decoded side latent in the integer h_s's input format (in_frac fractional bits)."""
        return torch.round(z_hat.to(torch.float64).cpu().contiguous() * 2.0 ** self.int_h_s.in_frac).to(torch.int64)

    @torch.no_grad()
    def freeze_prior(self, calibration):
        """Freezes h_s into an int32 integer network (fastcodec.integer.conv), its fixed-point
        formats chosen on rounded side latents of real images: a list of z [1, N, h, w] or of
        (y, z) pairs."""
        from fastcodec.integer.conv import freeze_conv_net

        zs = calibration_z(calibration)
        self.int_h_s = freeze_conv_net(self.h_s.float().cpu(), [torch.round(z.float().cpu()) for z in zs])
        self.h_s.to(self.owner.device)
        return self.int_h_s

    def integer_state(self):
        """{name: tensor} of the frozen integer prior to ship with the weights (fastcodec.integer.state)."""
        from fastcodec.integer.state import int_net_state

        return {} if self.int_h_s is None else int_net_state(self.int_h_s, self.INT_PREFIX)

    def set_integer_state(self, tensors):
        """Rebuilds the frozen integer h_s from integer_state() tensors (fastcodec.integer.state)."""
        from fastcodec.integer.state import load_int_net

        if not any(k.startswith(self.INT_PREFIX) for k in tensors):
            return
        net = load_int_net(self.h_s, self.z.channels, tensors, self.INT_PREFIX)
        if net is not None:
            self.int_h_s = net

    def reset(self):
        self.z.reset()
        self.int_h_s = None
