"""Training and evaluation of the models (needs torch and Pillow)."""
