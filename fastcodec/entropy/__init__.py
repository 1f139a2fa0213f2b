"""Entropy models: probability tables for latents (numpy here; torch modules import lazily)."""
