"""Errors of the store; all derive from `RelayerError`, database errors are wrapped here."""

from __future__ import annotations

from relayer.errors import RelayerError


class StoreError(RelayerError):
    """Root of the store's errors."""

    code = "store_error"


class CommitFailed(StoreError):
    """A group commit did not commit: none of the writes it carried was persisted or acknowledged."""

    code = "store_commit_failed"


class StoreClosed(StoreError):
    """A write was submitted to a group committer that is not running."""

    code = "store_closed"
