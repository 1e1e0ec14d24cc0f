"""Replay: read every suite event from the deployment block on and rebuild the venue's state,
checking each Trade against the `settleBatch` calldata of its transaction as it goes.

The `Trade` event is anonymous (a log without topics) and does not carry the two orders: they, and
so their EIP-712 digests, are fill `index` of batch `seq` in the calldata of the Trade's transaction.
A Trade whose transaction has no such fill fails `trades_match_calldata` and has no digests (its
`TradeRecord.maker_order` / `taker_order` are None): it is then not attributed to any order.

Per block range: one `eth_getLogs`, then one batch of `eth_getTransactionByHash` for the batches in
it and one batch of headers for block timestamps. Fills are decoded from the transaction input
with the packed batch decoder (`settlement.batch.decode_settle_call`); signatures are recovered with
coincurve (`settlement.signing`), each distinct (digest, signature) once. Delegates count as of the
trade (replayed `DelegateSet` / `DelegateRevoked`); ERC-1271 makers are asked with `eth_call
isValidSignature` at the trade's block.

One-shot orders (nonce bit 255) are not tracked by `orderState`: replay keeps each signer's spend
window per series (`settlement.oneshot`, spent by first fills and `OneShotCancelled`), requires every
fill of a one-shot order to come from the one order record of the batch that first filled it, and
that batch's fills to stay within the order's amount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._hashing import checksum_address
from ..abi import ContractABI, contract_abi
from ..batch import decode_settle_call
from ..chain import parse_log
from ..errors import SettlementError, SignatureError
from ..manifest import Manifest
from ..oneshot import OneShotWindow
from ..order import Order, hash_order
from ..signing import recover_raw
from . import optionmath as om
from .report import CheckResult, Evidence
from .rpc import ChainReader
from .state import BatchRecord, OneShotRecord, ReplayState, SeriesInfo, TradeRecord

ERC1271_SELECTOR = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)


@dataclass(frozen=True, slots=True)
class DecodedFill:
    """One fill of a settleBatch call, with both order digests and both order record indexes."""

    maker: Order
    maker_signature: bytes
    maker_hash: bytes
    taker: Order
    taker_signature: bytes
    taker_hash: bytes
    amount: int
    maker_fee_rate: int
    taker_fee_rate: int
    maker_index: int = 0
    taker_index: int = 0


@dataclass(frozen=True)
class DecodedBatch:
    """A settleBatch transaction's calldata, or why it could not be decoded (`error`). A fill whose
    order index lies outside the batch's orders or whose fee index lies outside its fee table (the
    contract skips it, reason BadOrderIndex or BadFeeIndex) is None. `digests` has, per fill, the
    (maker, taker) order digests, None only when an order index lies outside the batch's orders (a
    fill with a bad fee index still names its two orders)."""

    seq: int
    fills: tuple[DecodedFill | None, ...]
    error: str | None = None
    digests: tuple[tuple[bytes, bytes] | None, ...] = ()

    def fill_digests(self, seq: int, index: int) -> tuple[str, str] | None:
        """0x-hex (maker, taker) order digests of fill `index` of batch `seq`, None if this calldata
        (when it decoded at all) has no such fill or the fill names an order it does not carry."""
        if self.error is not None or self.seq != seq or index >= len(self.digests):
            return None
        pair = self.digests[index]
        return None if pair is None else ("0x" + pair[0].hex(), "0x" + pair[1].hex())


@dataclass(frozen=True, slots=True)
class _Pending1271:
    maker: str
    digest: bytes
    signature: bytes
    block: int
    tx: str
    what: str


class Replayer:
    """Applies the suite's events to a `ReplayState`, range by range."""

    def __init__(self, reader: ChainReader, manifest: Manifest, state: ReplayState) -> None:
        self.reader = reader
        self.manifest = manifest
        self.state = state
        self.domain = manifest.domain
        self.exchange = manifest.exchange
        self._abis: dict[str, tuple[str, ContractABI]] = {
            address.lower(): (name, contract_abi(name)) for name, address in manifest.contracts.items()
        }
        self._selector = contract_abi("Exchange").selector("settleBatch")
        self._recovered: dict[bytes, bytes | None] = {}
        self._handlers: dict[str, Callable[[dict[str, Any], int, str, int], None]] = {
            "AssetAdded": self._asset_added,
            "SeriesListed": self._series_listed,
            "Deposited": self._deposited,
            "Withdrawn": self._withdrawn,
            "Trade": self._trade,
            "FillSkipped": self._fill_skipped,
            "BatchSettled": self._batch_settled,
            "OrderCancelled": self._order_cancelled,
            "NoncesCancelled": self._nonces_cancelled,
            "OneShotCancelled": self._one_shot_cancelled,
            "DelegateSet": self._delegate_set,
            "DelegateRevoked": self._delegate_revoked,
            "PriceFinalized": self._price_finalized,
            "Settled": self._settled,
            "FeesCollected": self._fees_collected,
        }
        self._txs: dict[str, DecodedBatch] = {}
        self._timestamps: dict[int, int] = {}
        self._pending_1271: list[_Pending1271] = []
        self._batch_indices: dict[int, set[int]] = {}

    def check(self, name: str) -> CheckResult:
        return self.state.checks[name]

    # ------------------------------------------------------------------ ranges

    def replay_range(self, from_block: int, to_block: int) -> int:
        """Apply every suite event in [from_block, to_block]; returns how many events were applied."""
        raw_logs = self.reader.logs(from_block, to_block, list(self.manifest.contracts.values()))
        events: list[tuple[int, int, str, str, dict[str, Any]]] = []
        batch_txs: set[str] = set()
        timed_blocks: set[int] = set()
        for raw in raw_logs:
            if raw.get("removed"):
                continue
            log = parse_log(raw)
            entry = self._abis.get(log.address.lower())
            if entry is None:
                continue
            decoded = entry[1].decode_log(list(log.topics), log.data)
            if decoded is None:
                continue
            name, args = decoded
            if name not in self._handlers:
                continue
            tx = "0x" + log.tx_hash.hex()
            if name == "Trade" or name == "BatchSettled":
                batch_txs.add(tx)
                timed_blocks.add(log.block_number)
            events.append((log.block_number, log.log_index, tx, name, args))
        events.sort(key=lambda e: (e[0], e[1]))
        self._load_transactions(sorted(batch_txs))
        if timed_blocks:
            headers = self.reader.blocks(sorted(timed_blocks))
            self._timestamps = {n: int(h["timestamp"], 16) for n, h in headers.items()}
        for block, log_index, tx, name, args in events:
            self._handlers[name](args, block, tx, log_index)
        self._resolve_1271()
        self._txs.clear()
        self.state.events += len(events)
        self.state.next_block = to_block + 1
        return len(events)

    def _load_transactions(self, hashes: list[str]) -> None:
        if not hashes:
            return
        for h, tx in self.reader.transactions(hashes).items():
            self._txs[h] = self._decode_batch(tx)

    def _decode_batch(self, tx: dict[str, Any]) -> DecodedBatch:
        to = tx.get("to") or ""
        data = bytes.fromhex(str(tx.get("input", tx.get("data", "0x")))[2:])
        if to.lower() != self.exchange.lower() or data[:4] != self._selector:
            return DecodedBatch(0, (), f"transaction calls {to or 'nothing'}, not Exchange.settleBatch directly")
        try:
            seq, batch = decode_settle_call(data)
        except SettlementError as exc:  # malformed calldata the contract still accepted: report, don't crash
            return DecodedBatch(0, (), f"settleBatch calldata does not decode: {exc}")
        orders = [o.order for o in batch.orders]
        signatures = [o.signature for o in batch.orders]
        digests: list[bytes | None] = [None] * len(orders)

        def digest(i: int) -> bytes:
            d = digests[i]
            if d is None:
                d = digests[i] = hash_order(orders[i], self.domain)
            return d

        fills: list[DecodedFill | None] = []
        fill_digests: list[tuple[bytes, bytes] | None] = []
        for f in batch.fills:
            mi, ti = f.maker_order, f.taker_order
            if mi >= len(orders) or ti >= len(orders):
                fills.append(None)
                fill_digests.append(None)
                continue
            fill_digests.append((digest(mi), digest(ti)))
            rates = batch.fill_fees(f)
            if rates is None:
                fills.append(None)
                continue
            fills.append(
                DecodedFill(
                    orders[mi],
                    signatures[mi],
                    digest(mi),
                    orders[ti],
                    signatures[ti],
                    digest(ti),
                    f.amount,
                    rates[0],
                    rates[1],
                    mi,
                    ti,
                )
            )
        return DecodedBatch(int(seq), tuple(fills), digests=tuple(fill_digests))

    # ------------------------------------------------------------------ registry, vault, oracle

    def _asset_added(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.decimals[a["asset"]] = int(a["decimals"])

    def _series_listed(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        decimals = self.state.decimals.get(a["underlying"], 0)
        self.state.series["0x" + a["id"].hex()] = SeriesInfo(
            a["underlying"], a["quote"], int(a["strike"]), int(a["expiry"]), bool(a["isCall"]), 10**decimals
        )

    def _deposited(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.balance(a["account"], a["asset"])[0] += int(a["amount"])

    def _withdrawn(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        bal = self.state.balance(a["account"], a["asset"])
        bal[0] -= int(a["amount"])
        self._non_negative(bal, a["account"], a["asset"], block, tx, "withdrawal")

    def _fees_collected(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        asset = a["asset"]
        accrued = self.state.fees.get(asset, 0)
        check = self.check("vault_solvency")
        check.ok()
        if int(a["amount"]) != accrued:
            check.fail(
                Evidence(
                    f"fees collected in {asset} differ from the fees accrued in replay",
                    block,
                    tx,
                    a["recipient"],
                    str(accrued),
                    str(a["amount"]),
                )
            )
        self.state.fees[asset] = 0

    def _price_finalized(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.final_prices[(a["underlying"], int(a["expiry"]))] = int(a["price"])

    def _non_negative(self, bal: list[int], account: str, asset: str, block: int, tx: str, what: str) -> None:
        check = self.check("vault_solvency")
        check.ok()
        if bal[0] < 0 or bal[1] < 0:
            check.fail(
                Evidence(
                    f"{what} left a negative balance of {asset} in replay (free, locked)",
                    block,
                    tx,
                    account,
                    ">= 0",
                    f"{bal[0]}, {bal[1]}",
                )
            )

    # ------------------------------------------------------------------ cancels and delegates

    def _order_cancelled(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.cancelled[(a["maker"], "0x" + a["orderHash"].hex())] = block

    def _nonces_cancelled(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.min_nonce[a["maker"]] = int(a["minNonce"])

    def _one_shot_cancelled(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self._spend(a["maker"], "0x" + a["series"].hex(), int(a["seq"]))

    def _window(self, account: str, series: str) -> OneShotWindow:
        return OneShotWindow(*self.state.one_shot_windows.get((account, series), (0, 0)))

    def _spend(self, account: str, series: str, seq: int) -> None:
        window = self._window(account, series).spend(seq)
        self.state.one_shot_windows[(account, series)] = (window.base, window.bits)

    def _delegate_set(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.delegates[(a["maker"], a["key"])] = int(a["expiry"])

    def _delegate_revoked(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        self.state.delegates[(a["maker"], a["key"])] = 0

    # ------------------------------------------------------------------ batches

    def _fill_skipped(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        seq, index = int(a["seq"]), int(a["index"])
        self.state.skipped[(seq, index)] = int(a["reason"])
        self._batch_indices.setdefault(seq, set()).add(index)

    def _batch_settled(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        seq, filled, skipped = int(a["seq"]), int(a["filled"]), int(a["skipped"])
        check = self.check("batch_seqs_contiguous")
        check.ok()
        expected = self.state.last_seq + 1
        if seq != expected:
            check.fail(Evidence("batch seq is not the next number", block, tx, None, str(expected), str(seq)))
        indices = self._batch_indices.pop(seq, set())
        n = filled + skipped
        decoded = self._txs.get(tx)
        if indices != set(range(n)):
            check.fail(
                Evidence(
                    f"batch {seq} reports {filled} filled + {skipped} skipped, but its Trade/FillSkipped events "
                    "cover other indices",
                    block,
                    tx,
                    None,
                    f"indices 0..{n - 1}",
                    str(sorted(indices)),
                )
            )
        elif decoded is not None and decoded.error is None and len(decoded.fills) != n:
            check.fail(
                Evidence(
                    f"batch {seq}: events account for a different number of fills than the calldata",
                    block,
                    tx,
                    None,
                    str(len(decoded.fills)),
                    str(n),
                )
            )
        self.state.batches[seq] = BatchRecord(seq, block, tx, filled, skipped)
        self.state.last_seq = max(self.state.last_seq, seq)

    # ------------------------------------------------------------------ trades

    def _trade(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        st = self.state
        seq, index = int(a["seq"]), int(a["index"])
        ts = self._timestamps.get(block, 0)
        series_id = "0x" + a["series"].hex()
        decoded = self._txs.get(tx)
        # the event names no orders: they are the calldata's fill (seq, index), if it has one
        digests = decoded.fill_digests(seq, index) if decoded is not None else None
        maker_order, taker_order = digests if digests is not None else (None, None)
        rec = TradeRecord(
            seq,
            index,
            block,
            tx,
            ts,
            series_id,
            a["maker"],
            a["taker"],
            maker_order,
            taker_order,
            bool(a["makerIsBuy"]),
            int(a["amount"]),
            int(a["price"]),
            int(a["premium"]),
            int(a["makerFee"]),
            int(a["takerFee"]),
        )
        st.trades.append(rec)
        self._batch_indices.setdefault(seq, set()).add(index)
        series = st.series.get(series_id)
        fill = self._match_calldata(rec, series, decoded)
        if fill is not None:
            self._check_signatures(rec, fill)
            self._check_live(rec, fill, series)
            self._check_one_shot(rec, fill)
        self._check_overfill(rec, fill)
        if series is None:
            return
        self._apply_trade(rec, series)

    def _match_calldata(
        self, rec: TradeRecord, series: SeriesInfo | None, decoded: DecodedBatch | None
    ) -> DecodedFill | None:
        check = self.check("trades_match_calldata")
        check.ok()

        def fail(message: str, expected: object = None, found: object = None) -> None:
            check.fail(
                Evidence(
                    f"batch {rec.seq} fill {rec.index}: {message}",
                    rec.block,
                    rec.tx,
                    rec.maker,
                    None if expected is None else str(expected),
                    None if found is None else str(found),
                )
            )

        if decoded is None or decoded.error is not None:
            fail(decoded.error or "calldata unavailable" if decoded is not None else "transaction not fetched")
            return None
        if decoded.seq != rec.seq:
            fail("calldata seq differs from the event's", rec.seq, decoded.seq)
            return None
        if rec.index >= len(decoded.fills):
            fail("the calldata has no fill at this index", f"< {len(decoded.fills)}", rec.index)
            return None
        if series is None:
            fail("trade in a series that was never listed", "listed series", rec.series)
            return None
        f = decoded.fills[rec.index]
        if f is None:
            fail("the calldata fill at this index references an order or fee table entry the batch does not carry")
            return None
        mk, tk = f.maker, f.taker
        mismatches: list[tuple[str, object, object]] = []

        def same(what: str, expected: object, found: object) -> None:
            if expected != found:
                mismatches.append((what, expected, found))

        same("maker", mk.maker, rec.maker)
        same("taker", tk.maker, rec.taker)
        same("maker order series", "0x" + mk.series.hex(), rec.series)
        same("taker order series", "0x" + tk.series.hex(), rec.series)
        same("makerIsBuy", mk.is_buy, rec.maker_is_buy)
        same("taker side", not mk.is_buy, tk.is_buy)
        same("amount", f.amount, rec.amount)
        same("price", mk.price, rec.price)
        unit = series.unit
        same("premium", om.premium(mk.price, f.amount, unit, not mk.is_buy), rec.premium)
        same("maker fee", om.fee(f.maker_fee_rate, f.amount, unit), rec.maker_fee)
        same("taker fee", om.fee(f.taker_fee_rate, f.amount, unit), rec.taker_fee)
        if f.maker_fee_rate > mk.max_fee:
            mismatches.append(("maker fee rate within cap", f"<= {mk.max_fee}", f.maker_fee_rate))
        if f.taker_fee_rate > tk.max_fee:
            mismatches.append(("taker fee rate within cap", f"<= {tk.max_fee}", f.taker_fee_rate))
        buy, sell = (mk, tk) if mk.is_buy else (tk, mk)
        if buy.price < sell.price:
            mismatches.append(("prices cross", f"buy >= {sell.price}", buy.price))
        if mk.maker == tk.maker:
            mismatches.append(("distinct accounts", "maker != taker", mk.maker))
        for what, expected, found in mismatches:
            fail(f"{what} differs", expected, found)
        return f

    def _recover(self, digest: bytes, signature: bytes) -> bytes | None:
        key = digest + signature
        if key in self._recovered:
            return self._recovered[key]
        try:
            signer: bytes | None = recover_raw(digest, signature)
        except SignatureError:
            signer = None
        self._recovered[key] = signer
        return signer

    def _check_signatures(self, rec: TradeRecord, f: DecodedFill) -> None:
        check = self.check("signatures_verify")
        for what, order, digest, sig in (
            ("maker", f.maker, f.maker_hash, f.maker_signature),
            ("taker", f.taker, f.taker_hash, f.taker_signature),
        ):
            check.ok()
            signer = self._recover(digest, sig) if len(sig) == 65 else None
            if signer is not None:
                if signer == bytes.fromhex(order.maker[2:]):
                    continue
                if self.state.delegates.get((order.maker, checksum_address(signer)), 0) > rec.timestamp:
                    continue
            self._pending_1271.append(
                _Pending1271(
                    order.maker,
                    digest,
                    sig,
                    rec.block,
                    rec.tx,
                    f"batch {rec.seq} fill {rec.index}: {what} order 0x{digest.hex()}",
                )
            )

    def _resolve_1271(self) -> None:
        """Signatures that are neither the maker's key nor a live delegate's: valid only through ERC-1271."""
        pending, self._pending_1271 = self._pending_1271, []
        if not pending:
            return
        check = self.check("signatures_verify")
        codes = self.reader.codes([(p.maker, p.block) for p in pending])
        calls = []
        for p in pending:
            body = p.digest + (64).to_bytes(32, "big") + len(p.signature).to_bytes(32, "big")
            body += p.signature + bytes(-len(p.signature) % 32)
            calls.append((p.maker, ERC1271_SELECTOR + body))
        results: list[bytes | None] = []
        for p, call in zip(pending, calls, strict=True):
            results.extend(self.reader.calls([call], p.block))
        for p, code, result in zip(pending, codes, results, strict=True):
            if code and result is not None and result[:4] == ERC1271_SELECTOR:
                continue
            why = "ERC-1271 isValidSignature refused it" if code else "not signed by the maker or a live delegate"
            check.fail(
                Evidence(f"{p.what}: {why}", p.block, p.tx, p.maker, "valid signature", "0x" + p.signature.hex())
            )

    def _check_live(self, rec: TradeRecord, f: DecodedFill, series: SeriesInfo | None) -> None:
        check = self.check("no_fill_after_cancel_or_expiry")
        for what, order, digest in (("maker", f.maker, f.maker_hash), ("taker", f.taker, f.taker_hash)):
            check.ok()
            key = (order.maker, "0x" + digest.hex())
            label = f"batch {rec.seq} fill {rec.index}: {what} order 0x{digest.hex()}"
            # a one-shot order is cancelled only through its window (`_check_one_shot`), never by
            # hash or by the nonce floor: the exchange reads neither for it
            if not order.is_one_shot and key in self.state.cancelled:
                check.fail(
                    Evidence(
                        f"{label} filled after its cancel",
                        rec.block,
                        rec.tx,
                        order.maker,
                        "not cancelled",
                        f"cancelled in block {self.state.cancelled[key]}",
                    )
                )
            floor = self.state.min_nonce.get(order.maker, 0)
            if not order.is_one_shot and order.nonce < floor:
                check.fail(
                    Evidence(
                        f"{label} filled below the maker's nonce floor",
                        rec.block,
                        rec.tx,
                        order.maker,
                        f"nonce >= {floor}",
                        str(order.nonce),
                    )
                )
            if rec.timestamp > order.expiry:
                check.fail(
                    Evidence(
                        f"{label} filled after its expiry",
                        rec.block,
                        rec.tx,
                        order.maker,
                        f"block time <= {order.expiry}",
                        str(rec.timestamp),
                    )
                )
        if series is not None and rec.timestamp >= series.expiry:
            check.fail(
                Evidence(
                    f"batch {rec.seq} fill {rec.index}: traded at or after the series expiry",
                    rec.block,
                    rec.tx,
                    rec.maker,
                    f"block time < {series.expiry}",
                    str(rec.timestamp),
                )
            )

    def _check_one_shot(self, rec: TradeRecord, f: DecodedFill) -> None:
        """A one-shot order fills only from the order record of the batch that first filled it, and
        only if its number was not spent before that first fill (which spends it)."""
        check = self.check("no_fill_after_cancel_or_expiry")
        for what, order, digest, index in (
            ("maker", f.maker, f.maker_hash, f.maker_index),
            ("taker", f.taker, f.taker_hash, f.taker_index),
        ):
            seq = order.one_shot_seq
            if seq is None:
                continue
            check.ok()
            key = (order.maker, "0x" + digest.hex())
            label = f"batch {rec.seq} fill {rec.index}: {what} one-shot order 0x{digest.hex()}"
            first = self.state.one_shot_orders.get(key)
            if first is not None:
                if (first.batch, first.order_index) != (rec.seq, index):
                    check.fail(
                        Evidence(
                            f"{label} filled again after the batch that first filled it",
                            rec.block,
                            rec.tx,
                            order.maker,
                            f"only batch {first.batch} order record {first.order_index}",
                            f"batch {rec.seq} order record {index}",
                        )
                    )
                continue
            series = "0x" + order.series.hex()
            window = self._window(order.maker, series)
            if window.is_spent(seq):
                check.fail(
                    Evidence(
                        f"{label} filled after its number {seq} was spent (cancelled, filled, or slid out of "
                        "the window)",
                        rec.block,
                        rec.tx,
                        order.maker,
                        "not spent",
                        f"window base {window.base}, bits 0x{window.bits:016x}",
                    )
                )
            self._spend(order.maker, series, seq)
            self.state.one_shot_orders[key] = OneShotRecord(rec.seq, index, 0, order.amount, series, seq)

    def _check_overfill(self, rec: TradeRecord, f: DecodedFill | None) -> None:
        check = self.check("orders_not_overfilled")
        for account, digest, order in (
            (rec.maker, rec.maker_order, f.maker if f else None),
            (rec.taker, rec.taker_order, f.taker if f else None),
        ):
            if digest is None:
                # no calldata fill names the order (trades_match_calldata failed for this Trade):
                # nothing to count the amount against
                continue
            check.ok()
            key = (account, digest)
            one_shot = self.state.one_shot_orders.get(key) if order is not None and order.is_one_shot else None
            if one_shot is not None:  # all its fills are in one batch: their total against its amount
                one_shot.filled += rec.amount
                if one_shot.filled > one_shot.amount:
                    check.fail(
                        Evidence(
                            f"one-shot order {digest} over-filled by batch {rec.seq} fill {rec.index}",
                            rec.block,
                            rec.tx,
                            account,
                            f"<= {one_shot.amount}",
                            str(one_shot.filled),
                        )
                    )
                continue
            filled = self.state.order_filled.get(key, 0) + rec.amount
            self.state.order_filled[key] = filled
            if order is not None:
                self.state.order_amount[digest] = order.amount
            signed = self.state.order_amount.get(digest)
            if signed is not None and filled > signed:
                check.fail(
                    Evidence(
                        f"order {digest} over-filled by batch {rec.seq} fill {rec.index}",
                        rec.block,
                        rec.tx,
                        account,
                        f"<= {signed}",
                        str(filled),
                    )
                )

    def _apply_trade(self, rec: TradeRecord, s: SeriesInfo) -> None:
        """`Exchange._computeMoney` / `_computeParty` / `_apply`, from the event's amounts."""
        amount, premium = rec.amount, rec.premium
        maker_delta = amount if rec.maker_is_buy else -amount
        maker_quote = (-premium if rec.maker_is_buy else premium) - rec.maker_fee
        taker_quote = (premium if rec.maker_is_buy else -premium) - rec.taker_fee
        for account, delta, quote_delta in (
            (rec.maker, maker_delta, maker_quote),
            (rec.taker, -maker_delta, taker_quote),
        ):
            key = (account, rec.series)
            old = self.state.positions.get(key, 0)
            new = old + delta
            self.state.positions[key] = new
            moved = om.required(s.is_call, s.strike, s.unit, new) - om.required(s.is_call, s.strike, s.unit, old)
            quote = self.state.balance(account, s.quote)
            quote[0] += quote_delta
            collateral = self.state.balance(account, s.collateral)
            collateral[0] -= moved
            collateral[1] += moved
            self._non_negative(quote, account, s.quote, rec.block, rec.tx, f"batch {rec.seq} fill {rec.index}")
            if s.is_call:
                self._non_negative(
                    collateral, account, s.collateral, rec.block, rec.tx, f"batch {rec.seq} fill {rec.index}"
                )
        fees = rec.maker_fee + rec.taker_fee
        if fees:
            self.state.fees[s.quote] = self.state.fees.get(s.quote, 0) + fees

    # ------------------------------------------------------------------ expiry

    def _settled(self, a: dict[str, Any], block: int, tx: str, _li: int) -> None:
        """`MarginVault._settleOne`, recomputed from the replayed position and the final price."""
        st = self.state
        check = self.check("expiry_settlement")
        check.ok()
        account, series_id = a["account"], "0x" + a["seriesId"].hex()
        position, price, payout, owed = int(a["position"]), int(a["price"]), int(a["payout"]), int(a["owed"])
        s = st.series.get(series_id)
        if s is None:
            check.fail(Evidence(f"settled an unknown series {series_id}", block, tx, account))
            return
        final = st.final_prices.get((s.underlying, s.expiry))
        mismatches: list[tuple[str, object, object]] = []
        if final != price:
            mismatches.append(("settlement price", final, price))
        replayed = st.positions.get((account, series_id), 0)
        if replayed != position:
            mismatches.append(("position settled", replayed, position))
        if position > 0:
            want_payout, want_owed = om.long_payoff(s.is_call, s.strike, s.unit, price, position), 0
        else:
            req = om.required(s.is_call, s.strike, s.unit, position)
            want_owed = om.short_owed(s.is_call, s.strike, s.unit, price, -position)
            want_payout = req - want_owed
        if want_payout != payout:
            mismatches.append(("payout", want_payout, payout))
        if want_owed != owed:
            mismatches.append(("owed", want_owed, owed))
        for what, expected, found in mismatches:
            check.fail(Evidence(f"series {series_id}: {what} differs", block, tx, account, str(expected), str(found)))
        bal = st.balance(account, s.collateral)
        if position > 0:
            bal[0] += payout
            st.settlement_balance[s.collateral] = st.settlement_balance.get(s.collateral, 0) - payout
        else:
            req = om.required(s.is_call, s.strike, s.unit, position)
            bal[1] -= req
            bal[0] += payout
            st.settlement_balance[s.collateral] = st.settlement_balance.get(s.collateral, 0) + owed
        st.positions[(account, series_id)] = 0
        st.settled_position[series_id] = st.settled_position.get(series_id, 0) + position
        self._non_negative(bal, account, s.collateral, block, tx, "settlement")
