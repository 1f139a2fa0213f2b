"""Convolutions with 'same' padding for stride-2 down/up-sampling (CompressAI's conv/deconv)."""
from torch import nn


def conv(in_ch, out_ch, kernel_size=5, stride=2):
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_ch, out_ch, kernel_size=5, stride=2):
    return nn.ConvTranspose2d(in_ch, out_ch, kernel_size, stride=stride, output_padding=stride - 1,
                              padding=kernel_size // 2)
