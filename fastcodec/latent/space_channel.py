"""The space-channel context latent codec of elic2022 (He et al., "ELIC: Efficient Learned Image
Compression with Unevenly Grouped Space-Channel Contextual Adaptive Coding", CVPR 2022).

The channels of y are split into unevenly sized groups (16, 16, 32, 64, ... : the first, small
groups carry most of the information and are coded first). Group k is coded in two checkerboard
passes: its anchors ((row + col) even), then its non-anchors. The entropy parameters of a group come
from three inputs:

- the hyperprior's (scales, means) of all M channels (h_s of the decoded side latent z), through
  a 1x1 embedding computed once per image (`hyper_embedding`);
- a channel context: a small convolutional network over the decoded latents of groups 0..k-1
  (`channel_context[k - 1]`; none for group 0);
- a spatial context: a checkerboard-masked 5x5 convolution over the group's decoded anchors
  (`spatial_context[k]`; zero for the anchors themselves).

merged by 1x1 layers (`param_aggregation[k]`) into a correction of the hyperprior's own (scale,
mean) of the group's channels: params_k = h_s(z)[group k] + aggregation(...). The correction's
last layer starts at zero, so a fresh model codes exactly as the mean-scale hyperprior whose
transforms it starts from, and training only moves it from there.

Decoding takes 2 x (number of groups) parallel passes over the whole latent; the encoder runs the
very same passes (one function serves both), so both sides compute the same tables. With a frozen
integer path (fastcodec.integer.space_channel, frozen at export with the integer h_s and shipped
with the weights) the passes are exact integer arithmetic: a stream decodes identically on every
machine. Without one (fresh float weights) the float networks decide the tables: a stream decodes
on the same kind of machine only. Training runs the same passes
as coding, on rounded context inputs (straight-through), with the rate on noisy or rounded latents
per the owner's rate_quantization."""
import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder, scale_indexes
from fastcodec.latent.context import as_int32, gather
from fastcodec.latent.hyperprior import HyperpriorLatent
from fastcodec.layers import anchor_mask
from fastcodec.layers.mixed import round_ste, run_autocast, run_mixed


def default_groups(M):
    """ELIC's uneven split: 16, 16, 32, 64 and the rest (M = 320: 16/16/32/64/192, the paper's;
    M = 192: 16/16/32/64/64); a latent narrower than 160 channels (test models) in the proportions
    of M = 192: 1/12, 1/12, 1/6, 1/3 and the rest."""
    if M >= 160:
        return (16, 16, 32, 64, M - 128)
    head = tuple(max(1, round(M * f)) for f in (1 / 12, 1 / 12, 1 / 6, 1 / 3))
    if M - sum(head) < 1:
        raise ValueError(f"M = {M} is too narrow for five channel groups")
    return head + (M - sum(head),)


class SpaceChannelLatent(HyperpriorLatent):
    #: weights-file prefix of the frozen integer context path (not part of state_dict())
    INT_CTX_PREFIX = "int_sc."
    integer_prefixes = ("int_h_s.", "int_sc.")

    def __init__(self, owner, groups):
        super().__init__(owner, mean_scale=True)
        self.groups = tuple(int(g) for g in groups)
        self.channels = sum(self.groups)
        self.starts = tuple(int(s) for s in np.cumsum((0,) + self.groups[:-1]))
        #: the frozen integer context path (fastcodec.integer.space_channel), or None
        self.int_context = None

    def _slice(self, k):
        return slice(self.starts[k], self.starts[k] + self.groups[k])

    # -- the networks of one group ---------------------------------------------------------------
    def channel_ctx(self, k, y_hat, autocast=False):
        """Channel context of group k from the decoded groups 0..k-1 of y_hat (None for group 0)."""
        if k == 0:
            return None
        return run_mixed(self.owner.channel_context[k - 1], y_hat[:, : self.starts[k]], autocast)

    def spatial_ctx(self, k, anchors_hat, autocast=False):
        """Spatial context of group k's non-anchors from its decoded anchors (zeros elsewhere)."""
        return run_autocast(self.owner.spatial_context[k], anchors_hat, autocast)

    def embed(self, hyper, autocast=False):
        return run_autocast(self.owner.hyper_embedding, hyper, autocast)

    def group_params(self, k, hyper, emb, ch, sp, autocast=False):
        """(scales, means) of group k: the hyperprior's own plus the aggregation's correction of the
        hyper embedding, the channel context and the spatial context."""
        sl = self._slice(k)
        M = self.channels
        base = torch.cat([hyper[:, sl], hyper[:, M + sl.start: M + sl.stop]], 1)
        inputs = [emb] + ([ch] if ch is not None else []) + [sp]
        delta = run_mixed(self.owner.param_aggregation[k], torch.cat(inputs, 1), autocast)
        return (base + delta).chunk(2, 1)

    # -- training --------------------------------------------------------------------------------
    def _train_passes(self, y, hyper, quantize, autocast):
        """(scales, means, y_t) of the coding passes on a batch, `quantize` standing for rounding in
        what the context networks see and in y_t (y as the synthesis gets it)."""
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        emb = self.embed(hyper, autocast)
        scales, means, decoded = [], [], []
        for k in range(len(self.groups)):
            y_k = y[:, self._slice(k)]
            ch = self.channel_ctx(k, torch.cat(decoded, 1), autocast) if k else None
            zero = torch.zeros_like(y_k)
            s_a, m_a = self.group_params(k, hyper, emb, ch, zero, autocast)
            y_a = (quantize(y_k - m_a) + m_a) * anchors
            s_n, m_n = self.group_params(k, hyper, emb, ch, self.spatial_ctx(k, y_a, autocast), autocast)
            s_k, m_k = torch.where(anchors, s_a, s_n), torch.where(anchors, m_a, m_n)
            scales.append(s_k)
            means.append(m_k)
            decoded.append(torch.where(anchors, y_a, quantize(y_k - m_n) + m_n))
        return torch.cat(scales, 1), torch.cat(means, 1), torch.cat(decoded, 1)

    def forward(self, y, q, autocast=False):
        z_lik, hyper = self.hyper_train(y, autocast)
        scales, means, _ = self._train_passes(y, hyper, round_ste, autocast)
        return self.output(y, scales, means, z_lik)

    def relaxed(self, y, z, q, quantize, autocast=False, hyper=None):
        """(y_t, bits) with `quantize` in place of rounding, every context from the relaxed latents."""
        z_t, params = self.relaxed_hyper(z, quantize, autocast, hyper)
        scales, means, y_t = self._train_passes(y, params, quantize, autocast)
        return y_t, self.relaxed_bits(y_t, scales, means, z_t)

    # -- coding ----------------------------------------------------------------------------------
    @torch.no_grad()
    def _passes(self, hyper, shape, code):
        """The 2 x groups coding passes of one image (batch 1), shared by encoder and decoder:
        code(k, mask, scales [c, n], means [c, n]) returns the decoded values [c, n] of group k at
        the mask's positions (the encoder rounds its own y; the decoder reads the stream)."""
        H, W = shape
        device = hyper.device
        a = anchor_mask(H, W, device)[0, 0]
        y_hat = torch.zeros(1, self.channels, H, W, device=device)   # contiguous NCHW on both sides
        emb = self.embed(hyper)
        for k in range(len(self.groups)):
            sl = self._slice(k)
            c = self.groups[k]
            ch = self.channel_ctx(k, y_hat)
            s_a, m_a = self.group_params(k, hyper, emb, ch, torch.zeros(1, c, H, W, device=device))
            y_k = torch.zeros(1, c, H, W, device=device)
            y_k[0][:, a] = code(k, a, gather(s_a, a), gather(m_a, a))
            s_n, m_n = self.group_params(k, hyper, emb, ch, self.spatial_ctx(k, y_k))
            y_k[0][:, ~a] = code(k, ~a, gather(s_n, ~a), gather(m_n, ~a))
            y_hat[:, sl] = y_k
        return y_hat

    def compress(self, y, z, q=None):
        if self.use_integer_path():
            return self.compress_int(y, z)
        z_string, hyper = self.hyper(z)
        symbols, indexes = [], []

        def code(k, mask, scales, means):
            sym = torch.round(gather(y[:, self._slice(k)].float(), mask) - means)
            symbols.append(as_int32(sym).reshape(-1))
            indexes.append(scale_indexes(scales).reshape(-1))
            return sym + means

        self._passes(hyper, y.shape[2:], code)
        return [z_string, coding.encode(np.concatenate(symbols), np.concatenate(indexes), GaussianCoder.table())]

    def decompress(self, strings, y_shape, q=None):
        if self.use_integer_path():
            return self.decompress_int(strings, y_shape)
        hyper = self.hyper_decode(strings[0], y_shape)
        table = GaussianCoder.table()
        dec = coding.StreamDecoder(strings[1])

        def code(k, mask, scales, means):
            sym = dec.decode(scale_indexes(scales), table)
            return torch.from_numpy(sym).to(means.device, torch.float32).reshape(means.shape) + means

        y_hat = self._passes(hyper, tuple(y_shape), code)
        dec.finish()
        return y_hat

    # -- the integer path ------------------------------------------------------------------------
    def use_integer_path(self):
        return self.int_context is not None and self.int_h_s is not None

    def _int_backend(self):
        backend = self.owner.context_backend
        return backend if backend in ("reference", "triton") else "core"

    def _hyper_int(self, z_hat):
        """The integer h_s output, int64 [H, W, 2M] (channel-last) in its per-channel formats, from
        where the context networks run."""
        backend = self._int_backend()
        if backend == "core":
            hwc = self.prior_hwc(z_hat.cpu(), "core")
            if hwc is not None:
                return torch.from_numpy(hwc).to(torch.int64)
            backend = "reference"
        return self.prior_int(z_hat.cpu(), backend)[0].permute(1, 2, 0).to(torch.int64)

    def compress_int(self, y, z):
        z_string = self.z.encode(z)
        hyper = self._hyper_int(torch.round(z))
        net = self.int_context
        y64 = y[0].detach().double().cpu()
        symbols, indexes = [], []

        def code(k, mask, index, mean):
            st = self.starts[k]
            mu = mean.double() * torch.pow(2.0, -net.mean_frac(k).double())[:, None]
            sym = torch.round(y64[st:st + self.groups[k]][:, mask] - mu).to(torch.int64)
            symbols.append(sym.reshape(-1))
            indexes.append(index.reshape(-1))
            return sym

        net.passes(hyper, code, self._int_backend())
        sym = np.ascontiguousarray(torch.cat(symbols).to(torch.int32).numpy())
        idx = np.ascontiguousarray(torch.cat(indexes).numpy())
        return [z_string, coding.encode(sym, idx, GaussianCoder.table())]

    def decompress_int(self, strings, y_shape):
        z_hat = self.z.decode(strings[0], self.z_shape(y_shape))
        hyper = self._hyper_int(z_hat)
        table = GaussianCoder.table()
        dec = coding.StreamDecoder(strings[1])

        def code(k, mask, index, mean):
            sym = dec.decode(np.ascontiguousarray(index.numpy()), table)
            return torch.from_numpy(np.asarray(sym, dtype=np.int64)).reshape(index.shape)

        symbols, means = self.int_context.passes(hyper, code, self._int_backend())
        dec.finish()
        return self.int_context.latent(symbols, means).to(self.owner.device)

    @torch.no_grad()
    def freeze_prior(self, calibration):
        """Freezes h_s and, with (y, z) calibration pairs, the context networks into integers."""
        from fastcodec.entropy.coders import table_scales
        from fastcodec.integer.space_channel import freeze_space_channel

        if not calibration or not all(isinstance(c, (tuple, list)) for c in calibration):
            # an integer h_s with float context networks would decode on the same kind of machine only
            raise ValueError("calibration: elic2022 freezes its context networks too and needs (y, z) pairs")
        int_h_s = super().freeze_prior(calibration)
        pairs = [(y.float().cpu(), z.float().cpu()) for y, z in calibration]
        device = self.owner.device
        self.int_context = freeze_space_channel(self.owner.cpu(), int_h_s, pairs, table_scales())
        self.owner.to(device)
        return int_h_s

    def integer_state(self):
        out = super().integer_state()
        if self.int_context is not None:
            out.update({self.INT_CTX_PREFIX + k: v for k, v in self.int_context.ship_state().items()})
        return out

    def set_integer_state(self, tensors):
        from fastcodec.integer.space_channel import IntSpaceChannel

        super().set_integer_state(tensors)
        ctx = {k[len(self.INT_CTX_PREFIX):]: v for k, v in tensors.items() if k.startswith(self.INT_CTX_PREFIX)}
        if ctx:
            self.int_context = IntSpaceChannel.from_state(self.owner, ctx)

    def reset(self):
        super().reset()
        self.int_context = None
