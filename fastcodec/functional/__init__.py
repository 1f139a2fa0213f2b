"""Plain-torch reference ops: the test oracle for fused kernels and the CPU path."""
from fastcodec.functional.gdn import gdn

__all__ = ["gdn"]
