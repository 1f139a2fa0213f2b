"""The eight qualities of the MSE models: CompressAI's MSE λ for qualities 1..8 (loss
λ·255²·MSE + bpp); their rate spec is fastcodec.models.rate.RateSpec.qualities(LAMBDAS)."""
LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
NUM_QUALITIES = len(LAMBDAS)
