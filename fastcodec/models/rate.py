"""How a model is told its rate (the codec protocol's rate control; pure Python).

A model declares one RateSpec:

- named qualities (``RateSpec.qualities``): the trained operating points 1..n, each with the λ of its
  rate-distortion loss and the distortion metric it optimizes; a fractional quality interpolates
  between neighbours where the model allows it;
- a continuous range (``RateSpec.continuous``): any value of a model parameter in [low, high];
- progressive steps (``RateSpec.progressive``): the number of steps coded; a stream holding k steps
  can be cut after any step j < k and still decodes.

Callers (the API, the container, the CLI, evaluation, training, the encoder-side search) ask the
spec; none of them knows a model family's range or indexing.
"""
import math
import numbers
from dataclasses import dataclass

QUALITY, CONTINUOUS, PROGRESSIVE = "quality", "continuous", "progressive"


@dataclass(frozen=True)
class RateSpec:
    kind: str
    low: float
    high: float
    default: float
    #: the λ of each named quality (QUALITY), of `metric`'s loss λ·D + bpp
    lambdas: tuple = ()
    #: the distortion each rate point optimizes ("mse", "ms-ssim", ...)
    metric: str = "mse"
    #: whether values between the integers are allowed (a fractional quality interpolates)
    fractional: bool = True

    @classmethod
    def qualities(cls, lambdas, metric="mse", default=3, fractional=True):
        """Named qualities 1..len(lambdas), each trained at its λ."""
        lambdas = tuple(float(v) for v in lambdas)
        return cls(QUALITY, 1.0, float(len(lambdas)), float(default), lambdas, metric, fractional)

    @classmethod
    def continuous(cls, low, high, default, metric="mse"):
        return cls(CONTINUOUS, float(low), float(high), float(default), (), metric, True)

    @classmethod
    def progressive(cls, steps, default=None, metric="mse"):
        """1..steps progressive steps (the default: all of them)."""
        return cls(PROGRESSIVE, 1.0, float(steps), float(default or steps), (), metric, False)

    @property
    def progressive_steps(self):
        return int(self.high) if self.kind == PROGRESSIVE else None

    def points(self):
        """The rate values a full sweep evaluates (every named quality or step; 8 points of a range)."""
        if self.kind == CONTINUOUS:
            return [self.low + (self.high - self.low) * k / 7 for k in range(8)]
        return [float(v) for v in range(int(self.low), int(self.high) + 1)]

    def check(self, value, argument="quality"):
        """value as a float after checking it; TypeError/ValueError naming `argument` otherwise."""
        if value is None:
            return self.default
        what = "an integer" if not self.fractional else "a number"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{argument} must be {what} in [{self.low:g}, {self.high:g}], got {type(value).__name__}")
        value = float(value)
        if not self.low <= value <= self.high:
            raise ValueError(f"{argument} must be in [{self.low:g}, {self.high:g}], got {value:g}")
        if not self.fractional and value != int(value):
            raise ValueError(f"{argument} must be an integer in [{self.low:g}, {self.high:g}], got {value:g}")
        return value

    def index(self, value):
        """The 0-based position of a rate value among the trained points (a fraction between two)."""
        return float(value) - self.low

    def lambda_of(self, value):
        """λ at a named quality; a fraction interpolates geometrically, as the gain vectors do."""
        if self.kind != QUALITY:
            raise ValueError(f"a {self.kind} rate has no λ per rate value")
        q = min(max(self.index(value), 0.0), len(self.lambdas) - 1.0)
        lo = int(math.floor(q))
        hi = min(lo + 1, len(self.lambdas) - 1)
        frac = q - lo
        return math.exp(math.log(self.lambdas[lo]) * (1 - frac) + math.log(self.lambdas[hi]) * frac)

    def describe(self):
        if self.kind == QUALITY:
            return f"qualities {self.low:g}..{self.high:g} ({self.metric})"
        if self.kind == PROGRESSIVE:
            return f"progressive, 1..{self.high:g} steps ({self.metric})"
        return f"continuous {self.low:g}..{self.high:g} ({self.metric})"
