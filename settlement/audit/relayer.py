"""Cross-check the relayer's public report against the chain.

`RelayerReport` is the seam; `HTTPRelayerReport` reads the relayer API of issue 6. The auditor
expects this JSON (every integer a decimal string, hex lowercase or checksummed, addresses EIP-55):

    GET /v1/fills?batch=SEQ[&cursor=C][&limit=N]
    200 {"fills": [{"batch": "7", "index": "0", "status": "settled", "txHash": "0x…",
                    "series": "0x…32 bytes", "maker": "0x…", "taker": "0x…",
                    "makerOrder": "0x…digest", "takerOrder": "0x…digest", "makerIsBuy": true,
                    "amount": "…", "price": "…", "premium": "…", "makerFee": "…", "takerFee": "…"}],
         "nextCursor": "opaque" | null}

    `index` is the fill's position in the settleBatch call; amount/price/premium/fees are the
    `Trade` event's (options in underlying base units; premium and fees charged, quote base units);
    makerOrder/takerOrder are the EIP-712 digests of the two orders of that calldata fill (the
    anonymous `Trade` event does not carry them).
    `status` is optional ("settled" when absent); fills with another status (e.g. "skipped",
    "pending") are not claims of settlement. Pages follow `nextCursor` until it is null.

    GET /v1/batches/{seq}
    200 {"seq": "7", "status": "settled", "txHash": "0x…", "blockNumber": "123",
         "filled": "3", "skipped": "1"}
    404 when the relayer knows no such batch.

Checks: `relayer_fills_on_chain` (every fill reported as settled is an on-chain Trade with the same
fields: catches edited and phantom fills; the order digests are compared where the calldata named
them, else `trades_match_calldata` has already failed for that Trade), `relayer_trades_known` (every on-chain Trade is
reported), `relayer_batches` (every on-chain batch is reported with its tx and counts, and the
relayer claims no settled batch beyond the chain's lastSeq).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, fields
from typing import Any

import requests

from .._hashing import to_address
from .errors import AuditError
from .report import CheckResult, Evidence
from .state import ReplayState, TradeRecord


@dataclass(frozen=True)
class ReportedFill:
    """A fill as the relayer reports it (same fields as `TradeRecord`'s on-chain part)."""

    seq: int
    index: int
    tx: str
    series: str
    maker: str
    taker: str
    maker_order: str
    taker_order: str
    maker_is_buy: bool
    amount: int
    price: int
    premium: int
    maker_fee: int
    taker_fee: int
    status: str = "settled"


@dataclass(frozen=True)
class ReportedBatch:
    seq: int
    status: str
    tx: str | None
    block: int | None
    filled: int
    skipped: int


class RelayerReport(abc.ABC):
    """The relayer's account of what it settled."""

    @abc.abstractmethod
    def fills(self, seq: int) -> list[ReportedFill]:
        """Every fill the relayer reports in batch `seq` (all pages)."""

    @abc.abstractmethod
    def batch(self, seq: int) -> ReportedBatch | None:
        """Batch `seq`, or None if the relayer knows none."""

    def describe(self) -> str:
        return type(self).__name__


_FILL_FIELDS = {
    "seq": "batch",
    "index": "index",
    "tx": "txHash",
    "series": "series",
    "maker": "maker",
    "taker": "taker",
    "maker_order": "makerOrder",
    "taker_order": "takerOrder",
    "maker_is_buy": "makerIsBuy",
    "amount": "amount",
    "price": "price",
    "premium": "premium",
    "maker_fee": "makerFee",
    "taker_fee": "takerFee",
}
_INT_FIELDS = {"seq", "index", "amount", "price", "premium", "maker_fee", "taker_fee"}
_HEX_FIELDS = {"tx", "series", "maker_order", "taker_order"}


def _retry_after(header: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds form); 1 s when absent or unparseable."""
    try:
        return float(header) if header is not None else 1.0
    except ValueError:
        return 1.0


def _decimal(value: Any, where: str) -> int:
    if not isinstance(value, str) or not value.isdigit():
        raise AuditError(f"relayer report: {where} must be a decimal string, got {value!r}")
    return int(value)


def parse_fill(obj: Any) -> ReportedFill:
    """A `ReportedFill` from the API's JSON object; raises `AuditError` naming the bad field."""
    if not isinstance(obj, dict):
        raise AuditError(f"relayer report: a fill must be a JSON object, got {obj!r}")
    values: dict[str, Any] = {}
    for attr, key in _FILL_FIELDS.items():
        if key not in obj:
            raise AuditError(f"relayer report: fill lacks {key!r}: {obj!r}")
        raw = obj[key]
        if attr in _INT_FIELDS:
            values[attr] = _decimal(raw, f"fill {key}")
        elif attr == "maker_is_buy":
            if type(raw) is not bool:
                raise AuditError(f"relayer report: fill makerIsBuy must be true or false, got {raw!r}")
            values[attr] = raw
        elif attr in _HEX_FIELDS:
            if not isinstance(raw, str) or not raw.startswith("0x"):
                raise AuditError(f"relayer report: fill {key} must be 0x-hex, got {raw!r}")
            values[attr] = raw.lower()
        else:
            try:
                values[attr] = to_address(raw)
            except ValueError as exc:
                raise AuditError(f"relayer report: fill {key}: {exc}") from None
    status = obj.get("status", "settled")
    return ReportedFill(**values, status=str(status))


def parse_batch(obj: Any) -> ReportedBatch:
    if not isinstance(obj, dict):
        raise AuditError(f"relayer report: a batch must be a JSON object, got {obj!r}")
    try:
        block = obj.get("blockNumber")
        return ReportedBatch(
            seq=_decimal(obj["seq"], "batch seq"),
            status=str(obj.get("status", "settled")),
            tx=None if obj.get("txHash") is None else str(obj["txHash"]).lower(),
            block=None if block is None else _decimal(block, "batch blockNumber"),
            filled=_decimal(obj["filled"], "batch filled"),
            skipped=_decimal(obj["skipped"], "batch skipped"),
        )
    except KeyError as exc:
        raise AuditError(f"relayer report: batch lacks {exc.args[0]!r}: {obj!r}") from None


class HTTPRelayerReport(RelayerReport):
    """The relayer's public REST API (see the module docstring for the JSON shapes)."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        page_size: int = 500,
        rate_limit_retries: int = 20,
        max_retry_after_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rate_limit_retries = rate_limit_retries
        self.max_retry_after_s = max_retry_after_s
        self.timeout = timeout
        self.page_size = page_size
        self._session = requests.Session()

    def describe(self) -> str:
        return self.base_url

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = self.base_url + path
        for attempt in range(self.rate_limit_retries + 1):
            try:
                response = self._session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                raise AuditError(f"relayer at {self.base_url} is unreachable: {exc}") from exc
            if response.status_code != 429 or attempt == self.rate_limit_retries:
                break
            # over the relayer's request limit: wait as told (bounded) and ask again
            time.sleep(min(self.max_retry_after_s, max(0.05, _retry_after(response.headers.get("Retry-After")))))
        if response.status_code == 429:
            raise AuditError(f"relayer GET {path} stayed rate limited after {self.rate_limit_retries} retries")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise AuditError(f"relayer GET {path} answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise AuditError(f"relayer GET {path} did not answer JSON: {exc}") from None

    def fills(self, seq: int) -> list[ReportedFill]:
        out: list[ReportedFill] = []
        cursor: str | None = None
        while True:
            params = {"batch": str(seq), "limit": str(self.page_size)}
            if cursor is not None:
                params["cursor"] = cursor
            body = self._get("/v1/fills", params)
            if body is None:
                return out
            if not isinstance(body, dict) or not isinstance(body.get("fills"), list):
                raise AuditError(f"relayer GET /v1/fills?batch={seq}: expected {{'fills': [...]}}, got {body!r:.200}")
            out.extend(parse_fill(f) for f in body["fills"])
            cursor = body.get("nextCursor")
            if not cursor:
                return out

    def batch(self, seq: int) -> ReportedBatch | None:
        body = self._get(f"/v1/batches/{seq}")
        return None if body is None else parse_batch(body)


def _trade_fields(t: TradeRecord) -> dict[str, Any]:
    """The fields of `t` a reported fill must equal. An order digest the replay could not take from
    the calldata (None) is left out: there is nothing on-chain to hold the relayer's against."""
    out: dict[str, Any] = {}
    for f in fields(ReportedFill):
        if f.name == "status":
            continue
        value = getattr(t, f.name)
        if value is None:
            continue
        out[f.name] = value.lower() if f.name in _HEX_FIELDS else value
    return out


def cross_check(state: ReplayState, report: RelayerReport) -> list[CheckResult]:
    """The three relayer checks against the replayed chain state."""
    on_chain_fills = CheckResult("relayer_fills_on_chain")
    known = CheckResult("relayer_trades_known")
    batches = CheckResult("relayer_batches")
    trades = {(t.seq, t.index): t for t in state.trades}
    reported_keys: set[tuple[int, int]] = set()

    for seq in range(1, state.last_seq + 2):
        chain_batch = state.batches.get(seq)
        rb = report.batch(seq)
        batches.ok()
        if chain_batch is None:
            if rb is not None and rb.status == "settled":
                batches.fail(
                    Evidence(
                        f"the relayer reports batch {seq} settled; the chain never applied it",
                        None,
                        rb.tx,
                        None,
                        "not settled",
                        f"settled in {rb.tx}",
                    )
                )
        elif rb is None:
            batches.fail(
                Evidence(
                    f"batch {seq} is on-chain but missing from the relayer's report",
                    chain_batch.block,
                    chain_batch.tx,
                    None,
                    "reported",
                    "missing",
                )
            )
        else:
            for what, expected, found in (
                ("status", "settled", rb.status),
                ("txHash", chain_batch.tx.lower(), rb.tx),
                ("filled", chain_batch.filled, rb.filled),
                ("skipped", chain_batch.skipped, rb.skipped),
            ):
                if expected != found:
                    batches.fail(
                        Evidence(
                            f"batch {seq}: {what} differs",
                            chain_batch.block,
                            chain_batch.tx,
                            None,
                            str(expected),
                            str(found),
                        )
                    )
        for fill in report.fills(seq):
            if fill.status != "settled":
                continue
            on_chain_fills.ok()
            key = (fill.seq, fill.index)
            trade = trades.get(key)
            if fill.seq != seq or trade is None:
                reason = state.skipped.get(key)
                found = "no such fill" if reason is None else f"skipped on-chain (reason {reason})"
                on_chain_fills.fail(
                    Evidence(
                        f"the relayer reports batch {fill.seq} fill {fill.index} settled; it never happened on-chain",
                        None,
                        fill.tx,
                        fill.maker,
                        "a Trade event",
                        found,
                    )
                )
                continue
            if key in reported_keys:
                on_chain_fills.fail(
                    Evidence(
                        f"the relayer reports batch {fill.seq} fill {fill.index} more than once",
                        trade.block,
                        trade.tx,
                        trade.maker,
                        "once",
                        "twice or more",
                    )
                )
                continue
            reported_keys.add(key)
            expected_fields = _trade_fields(trade)
            for name, expected in expected_fields.items():
                found_value = getattr(fill, name)
                if expected != found_value:
                    on_chain_fills.fail(
                        Evidence(
                            f"batch {fill.seq} fill {fill.index}: {name} differs from the chain",
                            trade.block,
                            trade.tx,
                            trade.maker,
                            str(expected),
                            str(found_value),
                        )
                    )
    for key, trade in trades.items():
        known.ok()
        if key not in reported_keys:
            known.fail(
                Evidence(
                    f"on-chain trade batch {trade.seq} fill {trade.index} is unknown to the relayer",
                    trade.block,
                    trade.tx,
                    trade.maker,
                    "reported",
                    "missing",
                )
            )
    return [on_chain_fills, known, batches]
