"""Trains the learned bit context model of a recurrent coder (toderici2017 with bit_context) on the
bits the coder's own encoder gives for training crops, the coder frozen, then freezes it into
integers and reports what it saves over the raw bits and over the semi-static coder, per
iteration, on validation photos (never Kodak): the coded bytes of real streams.

    python -m fastcodec.train.fit_bits --init runs/toderici/ckpt.pt --data ../shared/data/train \\
        --val ../shared/data/val --out runs/toderici_bits.safetensors --steps 3000

The bits of `--crops` random crops are computed once (the coder never changes here), then each
step is the context network's cross-entropy on a batch of them, in bits per bit.
"""
import argparse
import sys

import numpy as np
import torch


@torch.no_grad()
def bit_sequences(model, images, iterations):
    """[[+-1 tensors [1, bits, h, w] per iteration] per image] of the coder's encoder."""
    model.eval()
    return [[b.cpu() for b, _ in model.iterate(model._pad(x.float()), iterations)] for x in images]


def fit_bits(context, sequences, steps, batch=8, lr=1e-3, seed=0, log=print, log_every=100):
    """Adam on context.bits_of over batches of the sequences (equal shapes); returns the last
    logged mean bits per bit."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(context.net.parameters(), lr=lr)
    stacked = [torch.cat([s[t] for s in sequences]) for t in range(len(sequences[0]))]
    context.train()
    acc, last = 0.0, float("nan")
    for step in range(1, steps + 1):
        idx = torch.from_numpy(rng.choice(len(sequences), min(batch, len(sequences)), replace=False))
        loss = context.bits_of([s[idx] for s in stacked])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc += loss.item()
        if step % log_every == 0 or step == steps:
            last = acc / (log_every if step % log_every == 0 else step % log_every)
            log(f"step {step}: {last:.4f} bits per bit")
            acc = 0.0
    context.eval()
    return last


def savings(model, images, iterations):
    """Per iteration: (raw bytes, semi-static bytes, learned bytes) summed over the images."""
    from fastcodec.models.recurrent_bits import encode_bits

    rows = np.zeros((iterations, 3), dtype=np.int64)
    for seq in bit_sequences(model, images, iterations):
        learned = model.bit_context.encode(seq)
        for t, b in enumerate(seq):
            rows[t] += (b.numel() + 7) // 8, len(encode_bits((b[0] > 0).to(torch.uint8).numpy())), len(learned[t])
    return rows


def main(argv=None):
    from fastcodec.train.data import CropSampler, list_images, load_rgb
    from fastcodec.train.export import checkpoint_model
    from fastcodec.train.kodak import refuse_kodak
    from fastcodec.zoo import load_float_model, save_float_weights

    p = argparse.ArgumentParser(prog="python -m fastcodec.train.fit_bits", description=__doc__.split("\n\n")[0])
    p.add_argument("--init", required=True, help="a toderici2017 checkpoint (ckpt.pt, its --ema average) or weights")
    p.add_argument("--ema", action="store_true")
    p.add_argument("--data", required=True)
    p.add_argument("--val", required=True, help="validation photos (never Kodak) for the savings report")
    p.add_argument("--out", required=True, help="float weights with the trained bit context (.safetensors)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--crops", type=int, default=512)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--iterations", type=int, default=None, help="default: the model's")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    refuse_kodak("--data", a.data)
    refuse_kodak("--val", a.val)
    torch.set_num_threads(a.threads)
    if str(a.init).endswith(".pt"):
        model = checkpoint_model(a.init, "toderici2017", a.ema)[0]
    else:
        model = load_float_model(a.init)
    if model.bit_context is None:
        from fastcodec.models import build

        cfg = dict(model.config(), bit_context=True)
        fresh = build("toderici2017", **cfg)
        fresh.load_state_dict(model.state_dict(), strict=False)
        model = fresh
    iterations = a.iterations or model.iterations
    rng = np.random.default_rng(0)
    sampler = CropSampler(list_images(a.data, exclude_dirs=("set5", "set14")))
    crops = sampler.batch(rng, a.crops, a.crop).contiguous()
    seqs = bit_sequences(model, [c[None] for c in crops], iterations)
    fit_bits(model.bit_context, seqs, a.steps, lr=a.lr, log=lambda s: print(s, flush=True))
    val = [torch.from_numpy(load_rgb(q).copy()).permute(2, 0, 1)[None].float() / 255 for q in list_images(a.val)]
    model.freeze_bit_context([c[None] for c in crops[:16]], iterations)
    rows = savings(model, val, iterations)
    print("| iteration | raw bytes | semi-static | learned | saved vs raw |\n|---|---|---|---|---|")
    for t, (raw, semi, learned) in enumerate(rows):
        print(f"| {t + 1} | {raw:,} | {semi:,} | {learned:,} | {100 * (1 - learned / raw):.1f} % |")
    save_float_weights(model, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
