"""The `fastcodec` command."""
