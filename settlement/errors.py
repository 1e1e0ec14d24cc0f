"""The one exception root of `settlement/`; library errors are wrapped at the boundary."""


class SettlementError(Exception):
    """Root of every error raised by the settlement package."""


class ArtifactError(SettlementError):
    """A forge artifact is missing or malformed (run `make build`)."""
