"""The venue's state as the auditor rebuilds it from events, and its JSON form for the cache.

Keys are strings: checksummed addresses, 0x-hex series ids and order digests. Amounts are Python
ints in the contracts' units (token base units; options in underlying base units).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .report import CheckResult

STATE_VERSION = 4  # 4: a TradeRecord's order digests come from the calldata and may be null

#: Checks whose evidence is gathered while replaying history (the rest run at the audited block).
REPLAY_CHECKS = (
    "vault_solvency",
    "signatures_verify",
    "trades_match_calldata",
    "orders_not_overfilled",
    "no_fill_after_cancel_or_expiry",
    "batch_seqs_contiguous",
    "expiry_settlement",
)


@dataclass(frozen=True)
class SeriesInfo:
    """A listed series; `unit` = 10**underlying decimals. Calls lock underlying, puts lock quote."""

    underlying: str
    quote: str
    strike: int
    expiry: int
    is_call: bool
    unit: int

    @property
    def collateral(self) -> str:
        return self.underlying if self.is_call else self.quote


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One `Trade` event with its block timestamp (the fields the relayer must report identically).

    The event does not carry the orders: `maker_order` / `taker_order` are the EIP-712 digests of
    fill `index` of the batch in the transaction's `settleBatch` calldata, None when the calldata is
    unavailable or has no such fill (then `trades_match_calldata` failed for this Trade)."""

    seq: int
    index: int
    block: int
    tx: str
    timestamp: int
    series: str
    maker: str
    taker: str
    maker_order: str | None
    taker_order: str | None
    maker_is_buy: bool
    amount: int
    price: int
    premium: int
    maker_fee: int
    taker_fee: int

    def to_row(self) -> list[Any]:
        return [getattr(self, f) for f in self.__slots__]

    @classmethod
    def from_row(cls, row: list[Any]) -> TradeRecord:
        return cls(*row)


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One `BatchSettled` event."""

    seq: int
    block: int
    tx: str
    filled: int
    skipped: int


@dataclass
class OneShotRecord:
    """A one-shot order seen in a Trade: the batch and order index of its first fill (every fill of
    it must come from that same record), the amount filled there, and what its window needs."""

    batch: int
    order_index: int
    filled: int
    amount: int
    series: str
    seq: int

    def to_row(self) -> list[Any]:
        return [self.batch, self.order_index, self.filled, self.amount, self.series, self.seq]


@dataclass
class ReplayState:
    """Everything replay has rebuilt through block `next_block - 1`."""

    next_block: int
    decimals: dict[str, int] = field(default_factory=dict)
    series: dict[str, SeriesInfo] = field(default_factory=dict)
    balances: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (account, asset) -> [free, locked]
    positions: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, series)
    fees: dict[str, int] = field(default_factory=dict)
    settlement_balance: dict[str, int] = field(default_factory=dict)
    settled_position: dict[str, int] = field(default_factory=dict)  # series -> Σ positions settled
    order_filled: dict[tuple[str, str], int] = field(default_factory=dict)  # (maker, order digest)
    order_amount: dict[str, int] = field(default_factory=dict)  # order digest -> amount signed
    cancelled: dict[tuple[str, str], int] = field(default_factory=dict)  # (maker, digest) -> block
    # one-shot orders: (signer, digest) -> record, and the spend window (base, bits) per (account, series)
    one_shot_orders: dict[tuple[str, str], OneShotRecord] = field(default_factory=dict)
    one_shot_windows: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    min_nonce: dict[str, int] = field(default_factory=dict)
    delegates: dict[tuple[str, str], int] = field(default_factory=dict)  # (maker, key) -> expiry
    final_prices: dict[tuple[str, int], int] = field(default_factory=dict)  # (underlying, expiry)
    last_seq: int = 0
    batches: dict[int, BatchRecord] = field(default_factory=dict)
    trades: list[TradeRecord] = field(default_factory=list)
    skipped: dict[tuple[int, int], int] = field(default_factory=dict)  # (seq, index) -> reason
    events: int = 0
    checks: dict[str, CheckResult] = field(default_factory=lambda: {n: CheckResult(n) for n in REPLAY_CHECKS})

    def balance(self, account: str, asset: str) -> list[int]:
        entry = self.balances.get((account, asset))
        if entry is None:
            entry = self.balances[(account, asset)] = [0, 0]
        return entry

    def accounts(self) -> set[str]:
        return {a for a, _ in self.balances} | {a for a, _ in self.positions}

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "nextBlock": self.next_block,
            "decimals": self.decimals,
            "series": {
                k: [s.underlying, s.quote, s.strike, s.expiry, s.is_call, s.unit] for k, s in self.series.items()
            },
            "balances": [[a, t, v[0], v[1]] for (a, t), v in self.balances.items()],
            "positions": [[a, s, p] for (a, s), p in self.positions.items()],
            "fees": self.fees,
            "settlementBalance": self.settlement_balance,
            "settledPosition": self.settled_position,
            "orderFilled": [[m, h, v] for (m, h), v in self.order_filled.items()],
            "orderAmount": self.order_amount,
            "cancelled": [[m, h, b] for (m, h), b in self.cancelled.items()],
            "oneShotOrders": [[m, h, *r.to_row()] for (m, h), r in self.one_shot_orders.items()],
            "oneShotWindows": [[a, s, b, w] for (a, s), (b, w) in self.one_shot_windows.items()],
            "minNonce": self.min_nonce,
            "delegates": [[m, k, e] for (m, k), e in self.delegates.items()],
            "finalPrices": [[u, e, p] for (u, e), p in self.final_prices.items()],
            "lastSeq": self.last_seq,
            "batches": [[b.seq, b.block, b.tx, b.filled, b.skipped] for b in self.batches.values()],
            "trades": [t.to_row() for t in self.trades],
            "skipped": [[s, i, r] for (s, i), r in self.skipped.items()],
            "events": self.events,
            "checks": {n: c.to_json_dict() for n, c in self.checks.items()},
        }

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> ReplayState:
        if obj.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported audit state version {obj.get('version')!r}")
        return cls(
            next_block=obj["nextBlock"],
            decimals=dict(obj["decimals"]),
            series={k: SeriesInfo(*v) for k, v in obj["series"].items()},
            balances={(a, t): [f, lk] for a, t, f, lk in obj["balances"]},
            positions={(a, s): p for a, s, p in obj["positions"]},
            fees=dict(obj["fees"]),
            settlement_balance=dict(obj["settlementBalance"]),
            settled_position=dict(obj["settledPosition"]),
            order_filled={(m, h): v for m, h, v in obj["orderFilled"]},
            order_amount=dict(obj["orderAmount"]),
            cancelled={(m, h): b for m, h, b in obj["cancelled"]},
            one_shot_orders={(r[0], r[1]): OneShotRecord(*r[2:]) for r in obj["oneShotOrders"]},
            one_shot_windows={(a, s): (b, w) for a, s, b, w in obj["oneShotWindows"]},
            min_nonce=dict(obj["minNonce"]),
            delegates={(m, k): e for m, k, e in obj["delegates"]},
            final_prices={(u, e): p for u, e, p in obj["finalPrices"]},
            last_seq=obj["lastSeq"],
            batches={b[0]: BatchRecord(*b) for b in obj["batches"]},
            trades=[TradeRecord.from_row(r) for r in obj["trades"]],
            skipped={(s, i): r for s, i, r in obj["skipped"]},
            events=obj["events"],
            checks={n: CheckResult.from_json_dict(c) for n, c in obj["checks"].items()},
        )
