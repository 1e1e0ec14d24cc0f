"""The one exception root of `relayer/`; errors crossing the API carry a stable code."""


class RelayerError(Exception):
    """Root of every error raised by the relayer package."""

    code: str = "relayer_error"
