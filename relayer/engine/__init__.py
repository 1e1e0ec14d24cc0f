"""The pure matching core: per-series price-time books, TIFs, self-trade prevention, expiry.

The relayer's shell stamps each input with the clock, journals it, applies it here, and
turns the returned events into store writes, acknowledgements and stream deltas:

    engine = MatchingEngine(clock=lambda: time.time_ns() // 1_000_000)
    command = PlaceOrder(spec, TimeInForce.GTC, engine.now())
    ...journal encode_command(command), commit...
    for event in engine.apply(command): ...
"""

from relayer.engine.book_hash import hash_book, hash_books
from relayer.engine.commands import (
    CancelOrder,
    Command,
    ExpireOrders,
    PlaceOrder,
    RestoreOrder,
    decode_command,
    encode_command,
)
from relayer.engine.engine import Clock, MatchingEngine
from relayer.engine.errors import CommandFormatError, EngineError, SnapshotFormatError
from relayer.engine.events import (
    Accepted,
    Cancelled,
    CancelReason,
    Event,
    Expired,
    Fill,
    RejectCode,
    Rejected,
    Rested,
)
from relayer.engine.orders import OrderSpec, TimeInForce
from relayer.engine.policy import EngineConfig, SelfTradePrevention
from relayer.engine.snapshot import (
    BookSnapshot,
    EngineSnapshot,
    RestingOrder,
    decode_snapshot,
    encode_snapshot,
)

__all__ = [
    "Accepted",
    "BookSnapshot",
    "CancelOrder",
    "CancelReason",
    "Cancelled",
    "Clock",
    "Command",
    "CommandFormatError",
    "EngineConfig",
    "EngineError",
    "EngineSnapshot",
    "Event",
    "ExpireOrders",
    "Expired",
    "Fill",
    "MatchingEngine",
    "OrderSpec",
    "PlaceOrder",
    "RejectCode",
    "Rejected",
    "Rested",
    "RestingOrder",
    "RestoreOrder",
    "SelfTradePrevention",
    "SnapshotFormatError",
    "TimeInForce",
    "decode_command",
    "decode_snapshot",
    "encode_command",
    "encode_snapshot",
    "hash_book",
    "hash_books",
]
