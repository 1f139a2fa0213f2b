"""Integrations with other libraries, each an optional extra that uses only fastcodec.api: the
Pillow plugin (registered by ``import fastcodec`` without importing Pillow, fastcodec._pillow_hook)."""
