"""The one exception root of `settlement/`; library errors are wrapped at the boundary.

Errors that can reach an API client (order validation, JSON, signatures) carry a stable `code`.
"""

from __future__ import annotations


class SettlementError(Exception):
    """Root of every error raised by the settlement package."""

    code: str = "settlement_error"


class ArtifactError(SettlementError):
    """A forge artifact is missing or malformed (run `make build`)."""

    code = "artifact_error"


class OrderError(SettlementError):
    """An order is not well formed; nothing was signed, stored or sent."""

    code = "invalid_order"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message if field is None else f"{field}: {message}")
        self.field = field


class OrderJSONError(OrderError):
    """An order's JSON form is malformed (syntax, missing or unknown keys, non-canonical values)."""

    code = "malformed_order_json"


class SignatureError(SettlementError):
    """A signature is malformed or malleable (wrong length, v not 27/28, high s, r or s out of range)."""

    code = "invalid_signature"


class ManifestError(SettlementError):
    """A deployment manifest is missing, malformed, or does not match the chain it names."""

    code = "manifest_error"


class DeployError(SettlementError):
    """Deploying the contract suite failed (a transaction reverted or the node refused it)."""

    code = "deploy_error"


class ChainError(SettlementError):
    """The JSON-RPC endpoint failed or answered something this package cannot use."""

    code = "chain_error"


class SubmitError(SettlementError):
    """A batch could not be submitted or confirmed."""

    code = "submit_error"


class IndexerError(SettlementError):
    """The event indexer could not read, decode or persist logs."""

    code = "indexer_error"


class MalformedBatchError(SettlementError):
    """Packed `settleBatch` bytes are structurally bad (truncated, trailing bytes, a series index
    outside the series table, unknown order flag bits, a compact integer longer than 32 bytes):
    the exchange reverts `MalformedBatch(offset)`.
    `offset` is the byte offset into the packed batch (not the calldata) where decoding failed."""

    code = "malformed_batch"

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"byte {offset}: {message}")
        self.offset = offset
