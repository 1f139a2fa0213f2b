"""The integer prior path of elic2022 (fastcodec.latent.space_channel): its channel-context,
spatial-context and parameter-aggregation networks frozen into int32 convolution networks
(fastcodec.integer.conv's arithmetic and C++ core), and the glue between them (formats, the sum
with the hyperprior's parameters, the table index, the decoded latent as the next networks' input)
in exact integer arithmetic. The coding passes are dense (every network runs on the whole latent
at once, 2 x groups passes), so they need no per-symbol loop: each network runs in the C++ core
("core") or its torch reference ("reference"), which give the same integers (docs/integer.md,
"elic2022").

Formats (fractional bits). f_y: the decoded latent as the context networks see it (one format,
clamp(symbol 2^f_y + round_shift(mean, f_m - f_y), +-amax)). f_h[c]: the integer h_s output.
Every network's output channel has its own format, chosen on calibration photos with 2x headroom;
a layer takes its inputs' formats as column exponents of its weights (Int32ConvCols). Parameters of
group k: p = round_shift(h_s slice, f_h - f_p) + round_shift(correction, f_d - f_p) with
f_p = min(f_h, f_d) per channel: scales in f_s, means in f_m. Table index: #{t : T[c][t] < s},
T[c][t] = floor(table_scale[t] 2^f_s[c]), capped at the last table."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fastcodec.integer.conv import Int32Conv, IntConvNet
from fastcodec.integer.context import ACC_LIMIT, ACT_AMAX, LEAKY_SHIFT, _channel_fracs, _frac_for, _round_shift, \
    fit_output_channel
from fastcodec.integer.network import weight_digest

FORMAT_VERSION = 1
#: inputs of fewer positions run on one thread (the integers are the same on any count)
SMALL_POSITIONS = 4096


class Int32ConvCols(Int32Conv):
    """An Int32Conv whose input channel c comes in the layer's input format minus col_exp[c]
    fractional bits: the layer quantizes W[o, c] 2^col_exp[c], so the sum is in one format and the
    arithmetic (and the C++ core) is Int32Conv's."""

    def __init__(self, weight_q, w_exp, bias_q, shift, geom, in_amax, amax=ACT_AMAX, leaky=-1, col_exp=None):
        super().__init__(weight_q, w_exp, bias_q, shift, geom, in_amax, amax, leaky)
        cin = self.weight_q.shape[1]
        self.register_buffer("col_exp", torch.zeros(cin, dtype=torch.int32) if col_exp is None
                             else torch.as_tensor(col_exp, dtype=torch.int32).reshape(-1))

    @staticmethod
    def quantize_cols(weight, w_exp, col_exp):
        """round(W[o, c] 2^(w_exp[o] + col_exp[c])) in float64 (exact for fp16/fp32 weights)."""
        e = torch.as_tensor(w_exp).double()[:, None] + torch.as_tensor(col_exp).double()[None, :]
        return torch.round(weight.detach().double().cpu() * torch.pow(2.0, e)[:, :, None, None])

    @classmethod
    def freeze_cols(cls, weight, bias, geom, in_fracs, out_frac, in_amax=ACT_AMAX, amax=ACT_AMAX, leaky=-1):
        """weight [cout, cin, k, k] float (masked already), in_fracs [cin] the input formats,
        out_frac [cout] the wanted output formats. Returns (layer, actual out formats)."""
        in_fracs = torch.as_tensor(in_fracs, dtype=torch.int64).reshape(-1)
        top = int(in_fracs.max())
        col_exp = top - in_fracs
        w = weight.detach().double().cpu() * torch.pow(2.0, col_exp.double())[None, :, None, None]
        b = bias.detach().double().cpu() if bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
        cout = w.shape[0]
        out_frac = torch.as_tensor(out_frac, dtype=torch.int64).expand(cout).clone()
        exps, bq, shift = (torch.zeros(cout, dtype=torch.int64) for _ in range(3))
        for o in range(cout):
            exps[o], bq[o], shift[o], out_frac[o] = fit_output_channel(w[o], float(b[o]), top, int(out_frac[o]), in_amax)
        wq = cls.quantize_cols(weight, exps, col_exp)
        return cls(wq, exps, bq, shift, geom, in_amax, amax, leaky, col_exp), out_frac


def _conv_weight(conv):
    """The weight a (masked) convolution applies."""
    mask = getattr(conv, "mask", None)
    return conv.weight.detach() * mask if mask is not None else conv.weight.detach()


def _convs_and_slopes(seq):
    """[(conv, LeakyReLU slope or None)] of a Sequential of convolutions and activations, or of a
    single convolution."""
    mods = list(seq) if isinstance(seq, nn.Sequential) else [seq]
    out = []
    for i, m in enumerate(mods):
        if isinstance(m, nn.Conv2d):
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            slope = nxt.negative_slope if isinstance(nxt, nn.LeakyReLU) else (0.0 if isinstance(nxt, nn.ReLU) else None)
            out.append((m, slope))
        elif not isinstance(m, (nn.LeakyReLU, nn.ReLU)):
            raise TypeError(f"cannot freeze layer {type(m).__name__}")
    return out


@torch.no_grad()
def freeze_net(seq, inputs, in_fracs, last_fracs=None, headroom=2.0, amax=ACT_AMAX, max_frac=20):
    """Freezes a float Sequential (or one convolution) into an IntConvNet of Int32ConvCols.
    inputs: float64 calibration inputs [1, cin, H, W]; in_fracs [cin]: their formats; last_fracs:
    the most fractional bits wanted for the output channels (default: from the calibration peaks).
    Every channel of every layer gets the format of its own peak (col_exp of the next layer)."""
    acts = list(inputs)
    fracs = torch.as_tensor(in_fracs, dtype=torch.int64).reshape(-1)
    layers = []
    pairs = _convs_and_slopes(seq)
    for i, (conv, slope) in enumerate(pairs):
        w = _conv_weight(conv).double()
        b = conv.bias.detach().double() if conv.bias is not None else None
        outs = [F.conv2d(a, w, b, conv.stride, conv.padding) for a in acts]
        want = _channel_fracs(outs, amax, headroom, max_frac)
        if i == len(pairs) - 1 and last_fracs is not None:
            want = torch.minimum(want, torch.as_tensor(last_fracs, dtype=torch.int64))
        if slope is not None:
            outs = [F.leaky_relu(o, slope) for o in outs]
        leaky = -1 if slope is None else int(round(slope * (1 << LEAKY_SHIFT)))
        layer, fracs = Int32ConvCols.freeze_cols(w, b, Int32Conv.geometry(conv), fracs, want, amax, amax, leaky)
        layers.append(layer)
        acts = outs
    return IntConvNet(layers, fracs)


def rebuild_net(seq, tensors):
    """An IntConvNet of Int32ConvCols from its stored buffers (no weight_q) and the float layers."""
    layers = []
    for i, (conv, _) in enumerate(_convs_and_slopes(seq)):
        p = f"layers.{i}."
        wq = Int32ConvCols.quantize_cols(_conv_weight(conv), tensors[p + "w_exp"], tensors[p + "col_exp"])
        layers.append(Int32ConvCols(wq, tensors[p + "w_exp"], tensors[p + "bias_q"], tensors[p + "shift"],
                                    tensors[p + "geom"].tolist(), *tensors[p + "meta"].tolist(),
                                    col_exp=tensors[p + "col_exp"]))
    return IntConvNet(layers, tensors["out_frac_c"])


class IntSpaceChannel(nn.Module):
    """The frozen context path of elic2022: emb (the hyper embedding), per group k cc[k - 1]
    (channel context, k >= 1), sc[k] (spatial context), agg[k] (parameter aggregation) and the
    formats of its parameters."""

    def __init__(self, groups, y_frac, emb, cc, sc, agg, base_shift, delta_shift, params_frac, thresholds):
        super().__init__()
        self.emb = emb
        self.groups = tuple(int(g) for g in groups)
        self.starts = tuple(int(s) for s in np.cumsum((0,) + self.groups[:-1]))
        self.M = sum(self.groups)
        self.cc = nn.ModuleList(cc)            # len(groups) - 1
        self.sc = nn.ModuleList(sc)
        self.agg = nn.ModuleList(agg)
        self.register_buffer("version", torch.tensor([FORMAT_VERSION], dtype=torch.int32))
        self.register_buffer("groups_t", torch.tensor(self.groups, dtype=torch.int32))
        self.register_buffer("y_frac_t", torch.tensor([int(y_frac)], dtype=torch.int32))
        # per channel of the concatenated parameters of every group: [scales of group k, means of group k]
        self.register_buffer("base_shift", torch.as_tensor(base_shift, dtype=torch.int32))
        self.register_buffer("delta_shift", torch.as_tensor(delta_shift, dtype=torch.int32))
        self.register_buffer("params_frac", torch.as_tensor(params_frac, dtype=torch.int32))
        self.register_buffer("thresholds", torch.as_tensor(thresholds, dtype=torch.int32))   # [M, T]

    y_frac = property(lambda self: int(self.y_frac_t[0]))

    def _param_slice(self, k):
        """Channels of group k in the concatenated [scales_k, means_k] per-group parameter layout."""
        s = 2 * self.starts[k]
        return slice(s, s + 2 * self.groups[k])

    def nets(self):
        return [self.emb] + list(self.cc) + list(self.sc) + list(self.agg)

    def int_weights(self):
        return [l.weight_q for net in self.nets() for l in net.layers]

    # -- the passes -------------------------------------------------------------------------------
    # Everything is channel-last ([H, W, C] or [n, C] int64): the C++ core's layout, so a network
    # call converts nothing but the dtype. The aggregation is 1x1 layers, so each pass runs it on
    # the positions of that pass only (half the latent).
    @staticmethod
    def _run(net, a, backend):
        """net of a [H, W, C] integer tensor -> int64 [H, W, C']."""
        if backend in ("reference", "triton"):
            out = net.forward_int(a.permute(2, 0, 1)[None].to(torch.int64), backend)
            return out[0].permute(1, 2, 0).to(torch.int64)
        lim = net.layers[0].in_amax
        z = np.ascontiguousarray(a.to(torch.int32).clamp_(-lim, lim).numpy())
        # the core starts a pool of threads per call: on a Kodak-sized latent (1,536 positions) one
        # thread ran the passes' networks in 69 ms, two in 101 (AVX2 EPYC, 2026-12-08)
        threads = 1 if z.shape[0] * z.shape[1] < SMALL_POSITIONS else torch.get_num_threads()
        return torch.from_numpy(net.core().run(z, threads)).to(torch.int64)

    def _consts(self, k):
        """Group k's shifts, thresholds and formats as int64 tensors, made once."""
        cache = self.__dict__.setdefault("_const_cache", {})
        if k not in cache:
            c, ps = self.groups[k], self._param_slice(k)
            st = self.starts[k]
            bs, ds = (t[ps].to(torch.int64) for t in (self.base_shift, self.delta_shift))
            mf = self.params_frac[ps][c:].to(torch.int64)
            cache[k] = {"bs": bs, "bs_half": (1 << bs) >> 1, "ds": ds, "ds_half": (1 << ds) >> 1,
                        "thr": self.thresholds[st:st + c].to(torch.int64).contiguous(), "mean_frac": mf,
                        "y_shift": mf - self.y_frac}
        return cache[k]

    def group_params(self, k, hyper, emb, ch, sp, backend):
        """int64 (scales [n, c], means [n, c]) of group k at n positions, from the hyper output, its
        embedding, the channel context and the spatial context there ([n, 2M], [n, E], [n, 2c] or
        None, [n, c]). The shifts to the parameters' formats are never negative: round half up is
        (a + 2^(d-1)) >> d."""
        c, st, M = self.groups[k], self.starts[k], self.M
        base = torch.cat([hyper[:, st:st + c], hyper[:, M + st:M + st + c]], 1)
        inp = torch.cat([emb] + ([ch] if ch is not None else []) + [sp], 1)
        delta = self._run(self.agg[k], inp[:, None, :], backend)[:, 0, :]
        g = self._consts(k)
        p = ((base + g["bs_half"]) >> g["bs"]) + ((delta + g["ds_half"]) >> g["ds"])
        return p[:, :c], p[:, c:]

    def scale_index(self, k, s):
        """int64 scales [c, n] of group k -> int32 table indexes [c, n]."""
        thr = self._consts(k)["thr"]          # [c, T], ascending
        # #{t : thr[t] < s} of a sorted row is the first t with thr[t] >= s
        idx = torch.searchsorted(thr, s.contiguous(), right=False, out_int32=True)
        return idx.clamp_(max=thr.shape[1] - 1)

    def mean_frac(self, k):
        return self._consts(k)["mean_frac"]

    def y_context(self, k, sym, mean):
        """Decoded values [n, c] of group k in the context format: clamp(sym 2^f_y + round_shift(mean, f_m - f_y))."""
        v = sym * (1 << self.y_frac) + _round_shift(mean, self._consts(k)["y_shift"])
        return v.clamp_(-ACT_AMAX, ACT_AMAX)

    def passes(self, hyper, code, backend="core"):
        """The 2 x groups coding passes. hyper: int64 [H, W, 2M] (the integer h_s output,
        channel-last); code(k, mask [H, W], index [c, n] int32, mean [c, n] int64) -> symbols [c, n]
        (int64), channel-major as the stream holds them. Returns (symbols, means) int64 [H, W, M]."""
        from fastcodec.functional.masked_conv import anchor_mask

        H, W, _ = hyper.shape
        a = anchor_mask(H, W)[0, 0]
        rows = [torch.nonzero(m.reshape(-1))[:, 0] for m in (a, ~a)]   # flat positions of each pass
        hyper = hyper.reshape(H * W, -1)
        # int32 holds every value here (|y context| <= 8191, symbols and fixed-point means << 2^31)
        yctx = torch.zeros(H, W, self.M, dtype=torch.int32)
        symbols = torch.zeros(H * W, self.M, dtype=torch.int32)
        means = torch.zeros(H * W, self.M, dtype=torch.int32)
        emb = self._run(self.emb, hyper.reshape(H, W, -1), backend).reshape(H * W, -1)
        parts = [(hyper.index_select(0, r), emb.index_select(0, r)) for r in rows]
        del hyper, emb   # each pass reads its own rows
        for k, c in enumerate(self.groups):
            st = self.starts[k]
            ch = self._run(self.cc[k - 1], yctx[:, :, :st], backend).reshape(H * W, -1) if k else None
            yk = torch.zeros(H * W, c, dtype=torch.int64)
            for p, (mask, r) in enumerate(zip((a, ~a), rows)):
                sp = (torch.zeros(len(r), c, dtype=torch.int64) if p == 0 else
                      self._run(self.sc[k], yk.reshape(H, W, c), backend).reshape(H * W, c).index_select(0, r))
                s, m = self.group_params(k, parts[p][0], parts[p][1], ch.index_select(0, r) if k else None, sp, backend)
                sym = code(k, mask, self.scale_index(k, s.t()), m.t().contiguous()).t()
                symbols[r, st:st + c] = sym.to(torch.int32)
                means[r, st:st + c] = m.to(torch.int32)
                yk[r] = self.y_context(k, sym, m)
            yctx[:, :, st:st + c] = yk.reshape(H, W, c).to(torch.int32)
        symbols, means = symbols.reshape(H, W, -1), means.reshape(H, W, -1)
        return symbols, means

    def latent(self, symbols, means):
        """y_hat float32 [1, M, H, W] = symbols + means 2^-f_m (exact) of the passes' [H, W, M],
        built a channel group at a time (no float64 copy of the whole latent)."""
        H, W, M = symbols.shape
        out = torch.empty(1, M, H, W, dtype=torch.float32)
        for k, c in enumerate(self.groups):
            st = self.starts[k]
            scale = torch.pow(2.0, -self.mean_frac(k).double())
            g = symbols[:, :, st:st + c].double() + means[:, :, st:st + c].double() * scale
            out[0, st:st + c] = g.float().permute(2, 0, 1)
        return out

    # -- shipping -----------------------------------------------------------------------------------
    def ship_state(self):
        """{name: int64 tensor}: everything but the integer weights, and their digest."""
        out = {k: v.to(torch.int64).contiguous() for k, v in self.state_dict().items() if not k.endswith("weight_q")}
        out["weights_digest"] = weight_digest(self.int_weights())
        return out

    @classmethod
    def from_state(cls, model, tensors):
        """Rebuilt from ship_state() tensors and the model's float networks; ValueError when the
        rebuilt integers do not match the digest."""
        if int(tensors["version"].reshape(-1)[0]) != FORMAT_VERSION:
            raise ValueError(f"elic2022 integer context format {int(tensors['version'][0])} is not supported")
        groups = tensors["groups_t"].tolist()

        def sub(prefix):
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        emb = rebuild_net(model.hyper_embedding, sub("emb."))
        cc = [rebuild_net(model.channel_context[i], sub(f"cc.{i}.")) for i in range(len(groups) - 1)]
        sc = [rebuild_net(model.spatial_context[i], sub(f"sc.{i}.")) for i in range(len(groups))]
        agg = [rebuild_net(model.param_aggregation[i], sub(f"agg.{i}.")) for i in range(len(groups))]
        net = cls(groups, int(tensors["y_frac_t"][0]), emb, cc, sc, agg, tensors["base_shift"], tensors["delta_shift"],
                  tensors["params_frac"], tensors["thresholds"])
        if not torch.equal(weight_digest(net.int_weights()), tensors["weights_digest"].to(torch.uint8)):
            raise ValueError("the integer context path rebuilt from the float weights does not match its digest")
        for n in net.nets():
            n.core()     # the C++ core validates the no-overflow bounds now, not mid-decode
        return net


@torch.no_grad()
def freeze_space_channel(model, int_h_s, calibration, table_scales, headroom=2.0, amax=ACT_AMAX, max_frac=20):
    """Freezes model's context networks (an elic2022) given its frozen integer h_s. calibration:
    [(y [1, M, H, W], z [1, N, h, w])] of real photos (never Kodak). The float passes are run on each
    with the integer h_s's exact output as hyper, recording every network's inputs; formats come
    from their peaks."""
    codec = model.latent_codec
    groups, starts, M = codec.groups, codec.starts, codec.channels
    hs_frac = torch.as_tensor(int_h_s.out_frac, dtype=torch.int64).reshape(-1).expand(2 * M)
    rec = {"y": [], "hyper": [], "cc": [[] for _ in groups], "sc": [[] for _ in groups], "agg": [[] for _ in groups],
           "delta": [[] for _ in groups]}
    from fastcodec.functional.masked_conv import anchor_mask

    model = model.double()
    try:
        for y, z in calibration:
            hyper = int_h_s(torch.round(z.float())).double()
            rec["hyper"].append(hyper)
            emb = model.hyper_embedding(hyper)
            y = y.double()
            H, W = y.shape[2:]
            a = anchor_mask(H, W)[0, 0]
            y_hat = torch.zeros_like(y)
            for k, c in enumerate(groups):
                st = starts[k]
                ch = None
                if k:
                    rec["cc"][k].append(y_hat[:, :st].clone())
                    ch = model.channel_context[k - 1](y_hat[:, :st])
                yk = torch.zeros(1, c, H, W, dtype=torch.float64)
                for mask, sp in ((a, torch.zeros(1, c, H, W, dtype=torch.float64)), (~a, None)):
                    if sp is None:
                        rec["sc"][k].append(yk.clone())
                        sp = model.spatial_context[k](yk)
                    inp = torch.cat([emb] + ([ch] if ch is not None else []) + [sp], 1)
                    rec["agg"][k].append(inp)
                    delta = model.param_aggregation[k](inp)
                    rec["delta"][k].append(delta)
                    base = torch.cat([hyper[:, st:st + c], hyper[:, M + st:M + st + c]], 1)
                    s, m = (base + delta).chunk(2, 1)
                    yk[0][:, mask] = (torch.round(y[0, st:st + c][:, mask] - m[0][:, mask]) + m[0][:, mask])
                y_hat[:, st:st + c] = yk
            rec["y"].append(y_hat)
    finally:
        model.float()
    y_frac = max(0, _frac_for(max(float(t.abs().max()) for t in rec["y"]), amax, headroom))
    emb = freeze_net(model.hyper_embedding, rec["hyper"], hs_frac, headroom=headroom, amax=amax, max_frac=max_frac)
    cc, sc, agg, base_shift, delta_shift, params_frac = [], [], [], [], [], []
    for k, c in enumerate(groups):
        st = starts[k]
        # the networks see the decoded latent in one format, f_y
        if k:
            cc.append(freeze_net(model.channel_context[k - 1], rec["cc"][k], torch.full((st,), y_frac),
                                 headroom=headroom, amax=amax, max_frac=max_frac))
        sc.append(freeze_net(model.spatial_context[k], rec["sc"][k], torch.full((c,), y_frac),
                             headroom=headroom, amax=amax, max_frac=max_frac))
        in_fracs = torch.cat([emb.out_frac] + ([cc[-1].out_frac] if k else []) + [sc[-1].out_frac])
        f_h = torch.cat([hs_frac[st:st + c], hs_frac[M + st:M + st + c]])
        net = freeze_net(model.param_aggregation[k], rec["agg"][k], in_fracs, last_fracs=f_h,
                         headroom=headroom, amax=amax, max_frac=max_frac)
        agg.append(net)
        f_d = net.out_frac
        f_p = torch.minimum(f_h, f_d)
        base_shift.append(f_h - f_p)
        delta_shift.append(f_d - f_p)
        params_frac.append(f_p)
    params_frac_t = torch.cat(params_frac)
    table_scales = torch.as_tensor(table_scales).double()
    thr = []
    for k, c in enumerate(groups):
        f_s = params_frac[k][:c].double()
        thr.append(torch.floor(table_scales[None, :] * torch.pow(2.0, f_s)[:, None]).clamp(-ACC_LIMIT, ACC_LIMIT))
    return IntSpaceChannel(groups, y_frac, emb, cc, sc, agg, torch.cat(base_shift), torch.cat(delta_shift), params_frac_t,
                           torch.cat(thr).to(torch.int64))
