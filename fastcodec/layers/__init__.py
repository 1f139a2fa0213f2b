"""torch modules of the transforms: GDN/IGDN, convolutions, masked convolutions."""
from fastcodec.layers.gdn import GDN
from fastcodec.layers.conv import conv, deconv

__all__ = ["GDN", "conv", "deconv"]
