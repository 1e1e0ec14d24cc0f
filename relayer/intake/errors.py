"""Intake rejections: one stable code per pipeline step (and a few venue-level refusals)."""

from __future__ import annotations

from enum import StrEnum

from relayer.errors import RelayerError


class RejectCode(StrEnum):
    """Why intake refused an order, in pipeline order. Stable strings for the API (422 bodies)."""

    #: 1. not a well-formed signed order (missing/unknown keys, bad types, amount 0, too many orders).
    INVALID_SCHEMA = "invalid_schema"
    #: 1. a one-shot order (nonce bit 255 set) sets nonce bits 64..254 (they must be zero).
    BAD_ONE_SHOT_NONCE = "bad_one_shot_nonce"
    #: 1. a one-shot order sent GTC or post-only: it fills within one batch only, so it must be IOC or FOK.
    ONE_SHOT_MUST_BE_IMMEDIATE = "one_shot_must_be_immediate"
    #: 2. the client named a chain id or verifying contract other than this venue's.
    WRONG_DOMAIN = "wrong_domain"
    #: 3. the signature is malformed (not 65-byte low-s ECDSA) and the maker is not a contract.
    INVALID_SIGNATURE = "invalid_signature"
    #: 4. the signer is neither the maker nor a live delegate, and no ERC-1271 wallet accepts it.
    UNAUTHORIZED_SIGNER = "unauthorized_signer"
    #: 5. the series is not listed on-chain.
    UNKNOWN_SERIES = "unknown_series"
    #: 5. the series has expired (trading stops at its expiry).
    SERIES_EXPIRED = "series_expired"
    #: 6. the order's own expiry has passed.
    ORDER_EXPIRED = "order_expired"
    #: 6. the order was cancelled (off-chain signed cancel, or on-chain by hash).
    ORDER_CANCELLED = "order_cancelled"
    #: 6. the order's nonce is below the maker's on-chain minNonce (cancelAllBelow).
    NONCE_CANCELLED = "nonce_cancelled"
    #: 6. the one-shot order's sequence number is spent on-chain (`cancelOneShot`, filled, or a number
    #: 64 or more above it spent in the same series) or by a fill this venue already made.
    ONE_SHOT_SPENT = "one_shot_spent"
    #: 7. price is 0 or above the most the option can pay (see `relayer.intake.collateral`).
    PRICE_OUT_OF_BOUNDS = "price_out_of_bounds"
    #: 8. free collateral on-chain minus reservations does not cover the order's worst case.
    INSUFFICIENT_COLLATERAL = "insufficient_collateral"
    #: engine: a post-only order would have matched on arrival (journaled, then refused).
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    #: the operator paused intake.
    INTAKE_PAUSED = "intake_paused"
    #: the store could not commit the order; nothing was acknowledged, retry.
    STORE_UNAVAILABLE = "store_unavailable"
    #: a chain read needed to validate the order failed; retry.
    CHAIN_UNAVAILABLE = "chain_unavailable"


class IntakeError(RelayerError):
    """A request the venue refuses as a whole (e.g. a malformed cancel); `code` is stable."""

    code = "intake_error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CancelRejected(IntakeError):
    """A signed cancel was refused: bad signature, stale or replayed timestamp, wrong maker."""

    code = "cancel_rejected"
