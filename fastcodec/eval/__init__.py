"""Evaluation: metrics (PSNR, MS-SSIM), Bjøntegaard deltas, rate-distortion curves of models over
image folders against the traditional codecs' measured curves, plots."""
