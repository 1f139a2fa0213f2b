"""Lower bound with the gradient rule of Ballé et al.: the gradient passes where x is above the
bound or where descent would raise x, so parameters pinned at the bound can still leave it."""
import torch


class _LowerBound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return torch.clamp(x, min=bound)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        pass_through = (x >= ctx.bound) | (grad < 0)
        return grad * pass_through.to(grad.dtype), None


def lower_bound(x, bound):
    return _LowerBound.apply(x, float(bound))


class NonNegative(torch.nn.Module):
    """Stores v >= minimum as p with v = max(p, sqrt(minimum + ped))^2 - ped (ped = 2^-36)."""

    pedestal = 2.0 ** -36

    def __init__(self, minimum=0.0):
        super().__init__()
        self.minimum = float(minimum)
        self.bound = (self.minimum + self.pedestal) ** 0.5

    def init(self, value):
        return torch.sqrt(torch.clamp(value + self.pedestal, min=self.pedestal))

    def forward(self, p):
        return lower_bound(p, self.bound) ** 2 - self.pedestal
