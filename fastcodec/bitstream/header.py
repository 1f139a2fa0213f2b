"""What a container header says, whatever its format version: the model, the rate, the image size
and colour, the streams. docs/bitstream.md is the normative description."""
import hashlib
from dataclasses import dataclass, field

MAGIC = b"\x89FCX"
COLOR_RGB, COLOR_GRAY, COLOR_RGBA = 0, 1, 2
COLOR_NAMES = {COLOR_RGB: "rgb", COLOR_GRAY: "gray", COLOR_RGBA: "rgba"}

#: rate kinds (format version 2): a named quality of a model that trains a set of them, a value of a
#: model's continuous rate parameter, or the number of progressive steps coded
RATE_QUALITY, RATE_CONTINUOUS, RATE_STEPS = 0, 1, 2
RATE_KINDS = {RATE_QUALITY: "quality", RATE_CONTINUOUS: "continuous", RATE_STEPS: "progressive"}


def model_id(name, weights_sha256):
    """4-byte identifier of a model: its name and the hash of its weights."""
    return hashlib.sha256(f"{name}:{weights_sha256}".encode()).digest()[:4]


@dataclass(frozen=True)
class Rate:
    """The rate a container was coded at: `kind` (RATE_QUALITY, RATE_CONTINUOUS, RATE_STEPS) and
    its value (a quality or a parameter value, resolution 1/256; a step count)."""
    kind: int
    value: float

    def __post_init__(self):
        if self.kind not in RATE_KINDS:
            raise ValueError(f"rate kind must be one of {sorted(RATE_KINDS)}, got {self.kind!r}")

    @property
    def name(self):
        return RATE_KINDS[self.kind]

    @classmethod
    def named(cls, name, value):
        """A Rate from its kind's name ("quality", "continuous", "progressive": the kinds of
        fastcodec.models.rate.RateSpec)."""
        codes = {v: k for k, v in RATE_KINDS.items()}
        if name not in codes:
            raise ValueError(f"rate kind must be one of {sorted(codes)}, got {name!r}")
        return cls(codes[name], value)


@dataclass
class Header:
    model_id: bytes
    rate: Rate
    height: int
    width: int
    color: int = COLOR_RGB
    stream_lengths: list = field(default_factory=list)
    version: int = 2
    header_bytes: int = 0          # size of everything before the payload
    progressive: bool = False      # version 2: a prefix of the streams decodes (cut files)
    stream_crcs: list = field(default_factory=list)   # version 2: CRC-32 of each stream

    @property
    def quality(self):
        """The rate's value (a quality for the models with named qualities)."""
        return self.rate.value

    @property
    def aux_streams(self):
        """Streams that are not the model's: the alpha plane of an RGBA image."""
        return 1 if self.color == COLOR_RGBA else 0

    def as_dict(self):
        out = {"format_version": self.version, "model_id": self.model_id.hex(), "rate": self.rate.name,
               "quality": self.rate.value, "height": self.height, "width": self.width,
               "color": COLOR_NAMES[self.color], "streams": list(self.stream_lengths),
               "header_bytes": self.header_bytes}
        if self.version >= 2:
            out["progressive"] = self.progressive
        return out
