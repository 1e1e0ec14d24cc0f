"""The relayer's admin actions and which of them need a TOTP second factor.

Why these need TOTP: they open the venue after an incident (unpause), create markets people will
trade (list series), replace the key that moves every batch (rotate operator key), or cancel a
customer's orders (drain maker orders). Why these do not: pause is the emergency brake and must
work fast and fail safe (it stops trading, never withdrawals or settlement); oracle reports are
posted by an unattended job and are themselves threshold-signed by the oracle keys and checked
on-chain, so the admin credential only relays them.
"""

from __future__ import annotations

from enum import StrEnum


class AdminAction(StrEnum):
    """An admin endpoint's action; the value is what audit lines and API-key scopes use."""

    PAUSE = "pause"
    UNPAUSE = "unpause"
    LIST_SERIES = "list_series"
    POST_ORACLE_REPORT = "post_oracle_report"
    ROTATE_OPERATOR_KEY = "rotate_operator_key"
    DRAIN_MAKER_ORDERS = "drain_maker_orders"

    @property
    def requires_totp(self) -> bool:
        """True when the action needs a TOTP code on top of the HMAC."""
        return self in TOTP_ACTIONS


TOTP_ACTIONS: frozenset[AdminAction] = frozenset(
    {
        AdminAction.UNPAUSE,
        AdminAction.LIST_SERIES,
        AdminAction.ROTATE_OPERATOR_KEY,
        AdminAction.DRAIN_MAKER_ORDERS,
    }
)
