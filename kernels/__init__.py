"""Triton kernels, shipped as ``fastcodec.kernels`` and imported only when a kernel is used.

Each op keeps its plain-torch reference in ``fastcodec.functional`` (the CPU path and the test
oracle); layers pick the kernel for CUDA tensors and the reference otherwise (``backend=``
overrides, for tests). On a CPU the kernels run under ``TRITON_INTERPRET=1`` only (for tests).
"""
