"""Encoder-side search over any model of the codec protocol: the encoder spends more compute to
find latents that code smaller at the same quality; the decoder and the format do not change.
`fastcodec.api` calls it; it calls the models (never the other way)."""
from fastcodec.search.refine import check_steps


def encode(model, x, rate, refine=0):
    """The streams of image x [1, 3, h, w] at `rate` (a value the model's rate_spec accepted),
    with `refine` steps of latent refinement where the model supports it (else ValueError)."""
    refine = check_steps(refine)
    if not refine:
        return model.encode_image(x, rate)
    if not model.capabilities.latent_search:
        raise ValueError(f"refine: {model.name} does not expose its latents to the encoder-side search")
    from fastcodec.search.refine import encode_refined

    return encode_refined(model, x, model.rate_spec.index(rate), refine)["strings"]


__all__ = ["check_steps", "encode"]
