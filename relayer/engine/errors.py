"""Errors of the matching engine; all derive from `RelayerError` and carry a stable code.

Bad orders are not errors here: the engine answers them with a `Rejected` event. These
errors are for malformed snapshots and journal records, which mean corrupted state.
"""

from __future__ import annotations

from relayer.errors import RelayerError


class EngineError(RelayerError):
    """Root of the matching engine's errors."""

    code = "engine_error"


class SnapshotFormatError(EngineError):
    """A serialized engine snapshot cannot be decoded."""

    code = "engine_snapshot_invalid"


class CommandFormatError(EngineError):
    """A serialized engine command (a journal record) cannot be decoded."""

    code = "engine_command_invalid"
