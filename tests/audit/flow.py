"""A full honest venue history on a real Anvil, for the audit tests and the benchmark.

Deposits in both assets, a put and a call series, batches with executed and skipped fills
(self-trade, over-fill, cancelled by hash, cancelled by nonce), an order filled across batches, a
delegate-signed order, an ERC-1271 contract maker, one-shot orders (a taker filled twice in one
batch, then refused as spent; numbers cancelled by the trader and by a delegate; a maker whose number
slides the window), a withdrawal, the oracle's final price after expiry, settlement of every
account and fee collection.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keys.signer import LocalSigner
from settlement.abi import contract_abi
from settlement.batch import Batch, Fill, SkipReason
from settlement.journal import SQLiteSubmitJournal
from settlement.order import Order, SignedOrder, hash_order, one_shot_nonce, series_id
from settlement.signing import sign_digest, sign_order
from settlement.submitter import SubmitResult, Submitter
from settlement.transactions import send_and_wait
from tests.settlement.venue import OPTION, STRIKE, USD, Venue, setup_venue
from tests.support.chain import ChainNode

EXCHANGE = contract_abi("Exchange")
REGISTRY = contract_abi("SeriesRegistry")
ORACLE = contract_abi("SettlementOracle")
TOKEN = contract_abi("TestToken")
WALLET = contract_abi("ERC1271Wallet")

CALL_STRIKE = 1_500 * USD
SETTLEMENT_PRICE = 1_800 * USD  # both the put (strike 2000) and the call (strike 1500) end in the money
UNDERLYING_DEPOSIT = 50 * OPTION


@dataclass
class Flow:
    """The venue after the flow, and what the tests need to know about it."""

    venue: Venue
    manifest_path: Path
    call_series: bytes
    submitter: Submitter
    results: list[SubmitResult] = field(default_factory=list)
    wallet: str = ""
    settle_blocks: list[int] = field(default_factory=list)
    one_shot: SignedOrder | None = None  # trader 2's one-shot buy, filled twice in batch 5
    _nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000))

    @property
    def chain(self) -> Any:
        return self.venue.chain

    def key(self, signer: LocalSigner) -> bytes:
        index = self.venue.node.addresses.index(signer.address)
        return bytes.fromhex(self.venue.node.keys[index][2:])

    def order(
        self,
        maker: str,
        series: bytes,
        *,
        is_buy: bool,
        amount: int = OPTION,
        price: int = 50 * USD,
        one_shot: int | None = None,
    ) -> Order:
        """An order with the next nonce, or one-shot order number `one_shot`."""
        nonce = next(self._nonces) if one_shot is None else one_shot_nonce(one_shot)
        return Order(maker, series, is_buy, price, amount, USD, nonce, self.venue.series_expiry - 1)

    def signed(self, order: Order, key: bytes) -> SignedOrder:
        return sign_order(order, self.venue.manifest.domain, key)

    def trader_fill(
        self, maker: int, taker: int, series: bytes, *, amount: int = OPTION, maker_buys: bool = True
    ) -> Fill:
        mk, tk = self.venue.traders[maker], self.venue.traders[taker]
        m = self.signed(self.order(mk.address, series, is_buy=maker_buys, amount=amount), self.key(mk))
        t = self.signed(self.order(tk.address, series, is_buy=not maker_buys, amount=amount), self.key(tk))
        return Fill(m, t, amount, maker_fee=USD // 10, taker_fee=USD // 5)

    def submit(self, fills: list[Fill]) -> SubmitResult:
        result = self.submitter.submit(Batch(self.venue.last_seq() + 1, fills))
        self.results.append(result)
        return result


def _send(venue: Venue, signer: LocalSigner, to: str, data: bytes) -> Any:
    return venue.send(signer, to, data)


def build_flow(node: ChainNode, tmp: Path) -> Flow:
    venue = setup_venue(node, n_traders=4)
    chain, manifest, op = venue.chain, venue.manifest, venue.operator
    quote = manifest.tokens["quote"].address
    underlying = manifest.tokens["underlying"].address
    manifest_path = tmp / "manifest.json"
    manifest.save(manifest_path)

    # oracle: two of the node's accounts sign prices, both needed
    signers = sorted(node.addresses[7:9], key=lambda a: int(a, 16))
    for s in signers:
        _send(venue, op, manifest.oracle, ORACLE.encode_call("addSigner", s))
    _send(venue, op, manifest.oracle, ORACLE.encode_call("setThreshold", 2))

    # a call series on the same expiry, and underlying collateral for every trader
    expiry = venue.series_expiry
    _send(
        venue, op, manifest.registry, REGISTRY.encode_call("listSeries", underlying, quote, CALL_STRIKE, expiry, True)
    )
    call = series_id(underlying, quote, CALL_STRIKE, expiry, True)
    for t in venue.traders:
        _send(venue, t, underlying, TOKEN.encode_call("mint", t.address, UNDERLYING_DEPOSIT))
        _send(venue, t, underlying, TOKEN.encode_call("approve", manifest.exchange, UNDERLYING_DEPOSIT))
        _send(venue, t, manifest.exchange, EXCHANGE.encode_call("deposit", underlying, UNDERLYING_DEPOSIT))

    submitter = Submitter(chain, op, manifest.exchange, SQLiteSubmitJournal(tmp / "journal.db"))
    flow = Flow(venue, manifest_path, call, submitter)
    put = venue.series
    t0, t1, t2, t3 = venue.traders

    # an ERC-1271 contract maker owned by trader 0, funded with quote
    receipt = send_and_wait(chain, t0, None, WALLET.encode_deploy(t0.address), nonce=chain.nonce(t0.address, "pending"))
    wallet = receipt.contract_address
    assert wallet is not None
    flow.wallet = wallet
    _send(venue, t0, quote, TOKEN.encode_call("mint", wallet, 100_000 * USD))
    _send(venue, t0, wallet, WALLET.encode_call("approve", quote, manifest.exchange, 100_000 * USD))
    _send(
        venue,
        t0,
        wallet,
        WALLET.encode_call("execute", manifest.exchange, EXCHANGE.encode_call("deposit", quote, 100_000 * USD)),
    )

    # a delegate key signs for trader 3
    delegate = LocalSigner(node.keys[9])
    _send(venue, t3, manifest.exchange, EXCHANGE.encode_call("setDelegate", delegate.address, expiry + 86400))

    # batch 1: puts, one self-trade (skipped)
    r = flow.submit(
        [flow.trader_fill(0, 1, put), flow.trader_fill(2, 3, put, amount=2 * OPTION), flow.trader_fill(1, 1, put)]
    )
    assert r.skipped == {2: SkipReason.SELF_TRADE}

    # batch 2: calls; trader 3's order signed by its delegate; an over-fill (skipped); the ERC-1271 maker sells a put
    by_delegate = sign_order(
        flow.order(t3.address, call, is_buy=False, amount=OPTION), manifest.domain, bytes.fromhex(node.keys[9][2:])
    )
    buyer = flow.signed(flow.order(t2.address, call, is_buy=True, amount=OPTION), flow.key(t2))
    small = flow.signed(flow.order(t1.address, call, is_buy=True, amount=OPTION // 2), flow.key(t1))
    big_sell = flow.signed(flow.order(t0.address, call, is_buy=False, amount=OPTION), flow.key(t0))
    wallet_order = flow.order(wallet, put, is_buy=False, amount=OPTION)
    wallet_signed = SignedOrder(wallet_order, sign_digest(flow.key(t0), hash_order(wallet_order, manifest.domain)))
    wallet_taker = flow.signed(flow.order(t1.address, put, is_buy=True, amount=OPTION), flow.key(t1))
    r = flow.submit(
        [
            Fill(buyer, by_delegate, OPTION, USD // 10, USD // 5),
            Fill(big_sell, small, OPTION, 0, 0),  # the taker signed for half: over-fill
            Fill(wallet_signed, wallet_taker, OPTION, USD // 10, 0),
        ]
    )
    assert r.skipped == {1: SkipReason.TAKER_OVERFILL}, r.skipped

    # cancels: trader 0 cancels one order by hash, trader 1 cancels everything below a nonce
    cancelled = flow.signed(flow.order(t0.address, put, is_buy=True), flow.key(t0))
    _send(
        venue,
        t0,
        manifest.exchange,
        EXCHANGE.encode_call("cancelOrders", [hash_order(cancelled.order, manifest.domain)]),
    )
    stale = flow.signed(flow.order(t1.address, put, is_buy=False), flow.key(t1))
    _send(venue, t1, manifest.exchange, EXCHANGE.encode_call("cancelAllBelow", stale.order.nonce + 1))
    t2_sell = flow.signed(flow.order(t2.address, put, is_buy=False), flow.key(t2))
    t3_buy = flow.signed(flow.order(t3.address, put, is_buy=True), flow.key(t3))

    # batch 3: fills of cancelled orders (skipped), half of a resting order; batch 4: its other half
    resting = flow.signed(flow.order(t3.address, put, is_buy=False, amount=2 * OPTION, price=45 * USD), flow.key(t3))
    taker_a = flow.signed(flow.order(t0.address, put, is_buy=True, amount=OPTION, price=60 * USD), flow.key(t0))
    taker_b = flow.signed(flow.order(t2.address, put, is_buy=True, amount=OPTION, price=60 * USD), flow.key(t2))
    r = flow.submit(
        [
            Fill(cancelled, t2_sell, OPTION, 0, 0),
            Fill(t3_buy, stale, OPTION, 0, 0),
            Fill(resting, taker_a, OPTION, USD // 10, USD // 10),
        ]
    )
    assert r.skipped == {0: SkipReason.MAKER_ORDER_CANCELLED, 1: SkipReason.TAKER_NONCE_CANCELLED}, r.skipped
    r = flow.submit(
        [Fill(resting, taker_b, OPTION, USD // 10, USD // 10), flow.trader_fill(3, 0, call, maker_buys=False)]
    )
    assert not r.skipped, r.skipped

    # batch 5: trader 2's one-shot buy fills against two sellers; a third fill would over-fill it
    one_shot = flow.signed(flow.order(t2.address, put, is_buy=True, amount=2 * OPTION, one_shot=1_000), flow.key(t2))
    sell_0 = flow.signed(flow.order(t0.address, put, is_buy=False, amount=3 * OPTION), flow.key(t0))
    sell_3 = flow.signed(flow.order(t3.address, put, is_buy=False, amount=OPTION), flow.key(t3))
    r = flow.submit(
        [Fill(sell_0, one_shot, OPTION, 0, USD // 10), Fill(sell_3, one_shot, OPTION), Fill(sell_0, one_shot, 1)]
    )
    assert r.filled == (0, 1) and r.skipped == {2: SkipReason.TAKER_OVERFILL}, r.skipped
    flow.one_shot = one_shot

    # trader 3 spends its one-shot number 7 itself and number 8 through its delegate
    _send(venue, t3, manifest.exchange, EXCHANGE.encode_call("cancelOneShot", put, [7]))
    _send(venue, delegate, manifest.exchange, EXCHANGE.encode_call("cancelOneShotFor", t3.address, put, [8]))

    # batch 6: the spent one-shot taker and the cancelled one-shot maker are refused; trader 3's
    # one-shot number 100 (its window slides past 7 and 8) sells to trader 2
    cancelled_one_shot = flow.signed(flow.order(t3.address, put, is_buy=False, one_shot=7), flow.key(t3))
    slid = flow.signed(flow.order(t3.address, put, is_buy=False, one_shot=100), flow.key(t3))
    t2_buys = flow.signed(flow.order(t2.address, put, is_buy=True, amount=2 * OPTION), flow.key(t2))
    r = flow.submit(
        [Fill(sell_0, one_shot, OPTION), Fill(cancelled_one_shot, t2_buys, OPTION), Fill(slid, t2_buys, OPTION)]
    )
    assert r.filled == (2,) and r.skipped == {
        0: SkipReason.TAKER_ORDER_SPENT,
        1: SkipReason.MAKER_ORDER_SPENT,
    }, r.skipped

    # a withdrawal of free collateral
    _send(venue, t2, manifest.exchange, EXCHANGE.encode_call("withdraw", quote, 1_000 * USD))

    # expiry: time passes, the oracle's signers finalize the price, everyone is settled, fees collected
    node.rpc("evm_increaseTime", 31 * 86400)
    node.rpc("evm_mine")
    (digest,) = ORACLE.decode_output(
        "reportDigest",
        chain.call(manifest.oracle, ORACLE.encode_call("reportDigest", underlying, expiry, SETTLEMENT_PRICE)),
    )
    keys = {a: bytes.fromhex(k[2:]) for a, k in zip(node.addresses, node.keys, strict=True)}
    sigs = [sign_digest(keys[s], digest) for s in signers]
    _send(venue, op, manifest.oracle, ORACLE.encode_call("submitPrice", underlying, expiry, SETTLEMENT_PRICE, sigs))
    for account in [*(t.address for t in venue.traders), wallet]:
        receipt = _send(venue, op, manifest.exchange, EXCHANGE.encode_call("settle", account, [put, call]))
        flow.settle_blocks.append(receipt.block_number)
    _send(venue, op, manifest.exchange, EXCHANGE.encode_call("collectFees", quote))
    return flow


__all__ = ["STRIKE", "Flow", "build_flow"]
