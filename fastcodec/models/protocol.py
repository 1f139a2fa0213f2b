"""The codec protocol: what every architecture tells the rest of fastcodec about itself.

`fastcodec.api`, `bitstream`, `cli`, `eval`, `train` and `search` consult a model through this
protocol and never know its family: its rate control (`rate_spec`, fastcodec.models.rate), its
latent geometry (`padding_multiple`, `latent_shapes`), its streams (`stream_names`,
`encode_image` / `decode_image`), its capabilities, and the state its weights file holds beyond
`state_dict()` (coding tables, integer networks). docs/architecture.md shows where a new model goes.

A new architecture subclasses CodecModel, implements the abstract parts and registers itself
(fastcodec.models.register); nothing else in the package changes.
"""
from dataclasses import dataclass

from torch import nn

from fastcodec.models.rate import RateSpec


@dataclass(frozen=True)
class Capabilities:
    #: a file holds one stream per step and decodes from any prefix of them
    progressive: bool = False
    #: the decoder synthesizes detail (a GAN decoder): PSNR is not its objective
    generative: bool = False
    #: devices its transforms run on (entropy coding is always on the CPU)
    devices: tuple = ("cpu", "cuda")
    #: the encoder-side latent search (fastcodec.search) applies: the model exposes its latents
    #: (encode_latents, code_latents, relaxed_rd)
    latent_search: bool = False


class CodecModel(nn.Module):
    #: name in the registry and in weights files
    name = ""
    #: the rate control: named qualities, a continuous range or progressive steps
    rate_spec = RateSpec.qualities((1.0,))
    #: the image is padded (bottom and right, edge replicated) to a multiple of this
    padding_multiple = 1
    capabilities = Capabilities()
    #: encode_image also takes x as uint8 [1, 3, h, w] (0..255), giving the same streams as for x / 255
    #: in float32 (fastcodec.api then never makes a float copy of the whole image)
    encodes_uint8 = False
    #: tensor-name prefixes of the weights file that are not part of state_dict() (load_extra_state)
    extra_state_prefixes = ()

    # -- geometry ------------------------------------------------------------------------------
    def padded_size(self, height, width):
        m = self.padding_multiple
        return -(-height // m) * m, -(-width // m) * m

    def latent_shapes(self, height, width):
        """{latent name: shape (channels, rows, columns)} coded for an image of height x width."""
        raise NotImplementedError

    def coding_memory(self, height, width):
        """Estimated peak bytes of encoding or decoding a height x width image: the caller refuses an
        image whose estimate exceeds fastcodec.bitstream.default_limits.max_memory before any work.
        This default assumes whole-image float32 transforms with 128 channels at half resolution
        (~512 bytes per pixel) and twice that for safety; architectures that tile say less."""
        return 1024 * height * width

    # -- streams ---------------------------------------------------------------------------------
    def stream_names(self, rate):
        """Names of the streams encode_image returns at `rate`, in order."""
        raise NotImplementedError

    def encode_image(self, x, rate):
        """x: float [1, 3, h, w] in [0, 1], any size; rate: a value rate_spec.check accepted.
        Returns the coded streams (list of bytes, in stream_names order)."""
        raise NotImplementedError

    def decode_image(self, streams, size, rate):
        """The inverse of encode_image: float [1, 3, h, w] in [0, 1] of size = (h, w). A progressive
        model decodes any non-empty prefix of its streams. Raises ValueError, IndexError or
        fastcodec.BitstreamError for streams that do not fit."""
        raise NotImplementedError

    # -- weights ---------------------------------------------------------------------------------
    def config(self):
        """Constructor arguments that rebuild this model (stored with its weights)."""
        return {}

    def extra_state(self):
        """{name: tensor} shipped with the weights beyond state_dict() (prefixes: extra_state_prefixes)."""
        return {}

    def load_extra_state(self, tensors):
        """Installs extra_state() tensors (called after load_state_dict)."""
        if tensors:
            raise ValueError(f"{type(self).__name__} stores no extra state, got {sorted(tensors)[:3]}")

    @property
    def device(self):
        p = next(self.parameters(), None)
        return p.device if p is not None else nn.Parameter().device
