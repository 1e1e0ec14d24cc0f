"""The auditor's error type: it could not audit (bad manifest, unreachable RPC, malformed relayer
answer). A failed *check* is not an error; it is a result in the report."""

from __future__ import annotations

from ..errors import SettlementError


class AuditError(SettlementError):
    """The audit could not run to the end; the message names what failed."""

    code = "audit_error"
