"""The 5x5 stride-2 layers of g_a / g_s (convolution, padding 2; transposed convolution, padding 2,
output padding 1) as Winograd products on their polyphase parts: the plain torch reference of
csrc/transforms/winograd.cc, the weight transform and packing it uses, and the call into the C++ kernel.

A stride-2 5x5 convolution is the sum of four stride-1 convolutions on the polyphase parts of its
input x[a::2, b::2], with the kernels w[a::2, b::2] (3x3, 3x2, 2x3, 2x2). A stride-2 5x5 transposed
convolution is four stride-1 convolutions of its input, one per polyphase part of its output, with
the flipped kernels w[4-a::-2, 4-b::-2]. Each runs on tiles of 2x2 low-resolution positions as
Winograd F(2, 3) (4 products per 2 outputs of a 3-tap kernel) or F(2, 2) (3 per 2 of a 2-tap
kernel) in each direction: 16 + 12 + 12 + 9 = 49 products per tile instead of 100.
"""
import torch
import torch.nn.functional as F

# F(2, 3): inputs d0..d3 -> products (BT d) * (G g) -> outputs AT m.   F(2, 2): d0..d2, g0..g1.
BT = {4: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], 3: [[1, -1, 0], [0, 1, 0], [0, -1, 1]]}
G = {4: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], 3: [[1, 0], [1, 1], [0, 1]]}
AT = {4: [[1, 1, 1, 0], [0, 1, -1, -1]], 3: [[1, 1, 0], [0, 1, 1]]}
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _n(a):
    """Input tile length of parity a: 4 for the 3-tap kernel (F(2, 3)), 3 for the 2-tap (F(2, 2))."""
    return 4 if a == 0 else 3


def _start(a, transposed):
    """Offset of a phase's first input (low resolution) from its tile's origin."""
    return 0 if (transposed and a == 1) else -1


def _taps(a, transposed):
    """Kernel rows (or columns) of parity a, in the order of the phase's inputs."""
    if transposed:
        return [4, 2, 0] if a == 0 else [3, 1]
    return [0, 2, 4] if a == 0 else [1, 3]


def phase_kernels(weight, transposed):
    """The four phase kernels [cout, cin, ka, kb] of a 5x5 weight (Conv2d: [cout, cin, 5, 5];
    ConvTranspose2d: [cin, cout, 5, 5])."""
    w = weight.transpose(0, 1) if transposed else weight
    return [w[:, :, _taps(a, transposed)][:, :, :, _taps(b, transposed)] for a, b in PHASES]


def transform_weights(weight, transposed):
    """U [49, cin, cout] in float64: G_a K G_b^T of each phase kernel, phases in PHASES order,
    elements row-major within a phase (the order csrc/transforms/winograd.cc reads)."""
    out = []
    for (a, b), k in zip(PHASES, phase_kernels(weight.detach().double().cpu(), transposed)):
        ga = torch.tensor(G[_n(a)], dtype=torch.float64)
        gb = torch.tensor(G[_n(b)], dtype=torch.float64)
        u = torch.einsum("ri,ocik,qk->rqco", ga, k, gb)  # [na, nb, cin, cout]
        out.append(u.reshape(-1, u.shape[2], u.shape[3]))
    return torch.cat(out, 0)


def pack_weights(weight, transposed):
    """The kernel's weight operand: U rounded to bf16, channel pairs interleaved,
    [49, cin / 2, cout, 2] as int16 (numpy has no bf16)."""
    u = transform_weights(weight, transposed).to(torch.bfloat16)
    e, cin, cout = u.shape
    return u.reshape(e, cin // 2, 2, cout).transpose(2, 3).contiguous().view(torch.int16).numpy()


def _tiles(p, start_y, ny, start_x, nx, ty, tx):
    """[C, ty, tx, ny, nx] with p[:, 2i + start_y + r, 2j + start_x + q], zero outside p."""
    c, h, w = p.shape
    pp = p.new_zeros(c, 2 * ty + 4, 2 * tx + 4)
    hh, ww = min(h, 2 * ty + 3), min(w, 2 * tx + 3)
    pp[:, 1:1 + hh, 1:1 + ww] = p[:, :hh, :ww]
    rows = pp[:, start_y + 1:].unfold(1, ny, 2)[:, :ty]          # [C, ty, W', ny]
    return rows[:, :, start_x + 1:].unfold(2, nx, 2)[:, :, :tx]  # [C, ty, tx, ny, nx]


def _bf16(t):
    return t.to(torch.bfloat16).double()


def winograd_s2_reference(x, weight, bias=None, transposed=False, bf16=False):
    """The layer computed through the Winograd form in float64 (plain torch): equals
    F.conv2d(x, weight, bias, 2, 2) or F.conv_transpose2d(x, weight, bias, 2, 2, 1) to rounding.
    x [B, cin, h, w]. bf16=True rounds where the C++ kernel does (x, the transformed inputs and the
    transformed weights to bf16; sums exact), leaving the kernel only its float32 sums and the
    final bf16 rounding of y."""
    x = _bf16(x) if bf16 else x.double()
    b_, _, h, w = x.shape
    u = transform_weights(weight, transposed)
    if bf16:
        u = _bf16(u)
    lh, lw = (h, w) if transposed else ((h + 1) // 2, (w + 1) // 2)
    ty, tx = (lh + 1) // 2, (lw + 1) // 2
    cout = u.shape[2]
    outs = []
    for img in x:
        low = img.new_zeros(4 if transposed else 1, cout, 2 * ty, 2 * tx)
        e = 0
        for p, (a, b) in enumerate(PHASES):
            na, nb = _n(a), _n(b)
            src = img if transposed else img[:, a::2, b::2]
            d = _tiles(src, _start(a, transposed), na, _start(b, transposed), nb, ty, tx)
            bta = torch.tensor(BT[na], dtype=torch.float64)
            btb = torch.tensor(BT[nb], dtype=torch.float64)
            v = torch.einsum("ri,cyxik,qk->yxrqc", bta, d, btb)
            if bf16:
                v = _bf16(v)
            up = u[e:e + na * nb].reshape(na, nb, -1, cout)
            e += na * nb
            m = torch.einsum("yxrqc,rqco->yxrqo", v, up)
            ata = torch.tensor(AT[na], dtype=torch.float64)
            atb = torch.tensor(AT[nb], dtype=torch.float64)
            o = torch.einsum("ir,yxrqo,kq->oyixk", ata, m, atb).reshape(cout, 2 * ty, 2 * tx)
            low[p if transposed else 0] += o
        if transposed:
            y = img.new_zeros(cout, 2 * h, 2 * w)
            for p, (a, b) in enumerate(PHASES):
                y[:, a::2, b::2] = low[p, :, :h, :w]
        else:
            y = low[0, :, :lh, :lw]
        outs.append(y)
    y = torch.stack(outs)
    if bias is not None:
        y = y + bias.double().view(1, -1, 1, 1)
    return y


def supported():
    """Whether the C++ kernel runs on this CPU (AVX-512 BF16)."""
    from fastcodec._native import core as _core
    return bool(_core.winograd_supported())


def winograd_s2(x, packed, bias, transposed, threads=None):
    """The C++ kernel on a bf16 batch x [B, cin, h, w] (any memory format): bf16 output in
    channels_last, [B, cout, h', w']. packed: pack_weights(...); bias: float32 [cout] numpy or None;
    threads: torch's intra-op thread count unless given."""
    from fastcodec._native import core as _core
    if threads is None:
        threads = torch.get_num_threads()
    b_, cin, h, w = x.shape
    cout = packed.shape[2]
    oh, ow = (2 * h, 2 * w) if transposed else ((h + 1) // 2, (w + 1) // 2)
    xl = x.to(torch.bfloat16).permute(0, 2, 3, 1).contiguous()
    y = torch.empty((b_, oh, ow, cout), dtype=torch.bfloat16)
    for i in range(b_):
        _core.winograd_s2(xl[i].view(torch.int16).numpy(), packed, bias, transposed, y[i].view(torch.int16).numpy(),
                          threads)
    return y.permute(0, 3, 1, 2)


def reference_check(x, weight, bias=None, transposed=False):
    """Direct float64 layer (for tests)."""
    x, weight = x.double(), weight.double()
    bias = None if bias is None else bias.double()
    if transposed:
        return F.conv_transpose2d(x, weight, bias, 2, 2, 1)
    return F.conv2d(x, weight, bias, 2, 2)
