"""torch modules of the transforms: GDN/IGDN, convolutions, masked convolutions."""
from fastcodec.layers.gdn import GDN
from fastcodec.layers.conv import conv, deconv
from fastcodec.layers.masked_conv import CheckerboardConv2d, MaskedConv2d, anchor_mask

__all__ = ["GDN", "CheckerboardConv2d", "MaskedConv2d", "anchor_mask", "conv", "deconv"]
