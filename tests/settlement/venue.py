"""A deployed venue on a test chain: manifest, a listed put series, funded traders, fill factories."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from keys.signer import LocalSigner
from settlement.abi import contract_abi
from settlement.batch import Batch, Fill
from settlement.chain import Chain
from settlement.deploy import DeployConfig, deploy
from settlement.manifest import Manifest
from settlement.order import Order, series_id
from settlement.signing import sign_order
from settlement.transactions import send_and_wait
from tests.support.chain import ChainNode

EXCHANGE = contract_abi("Exchange")
REGISTRY = contract_abi("SeriesRegistry")
TOKEN = contract_abi("TestToken")

USD = 10**6  # quote: 6 decimals
OPTION = 10**18  # underlying: 18 decimals, one option
STRIKE = 2_000 * USD
PRICE = 50 * USD  # premium per option


@dataclass
class Venue:
    node: ChainNode
    chain: Chain
    manifest: Manifest
    operator: LocalSigner
    traders: list[LocalSigner]
    series: bytes
    series_expiry: int
    _nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, signer: LocalSigner, to: str, data: bytes) -> Any:
        return send_and_wait(self.chain, signer, to, data, nonce=self.chain.nonce(signer.address, "pending"))

    def call(self, abi_name: str, to: str, fn: str, *args: object) -> tuple[Any, ...]:
        abi = contract_abi(abi_name)
        return abi.decode_output(fn, self.chain.call(to, abi.encode_call(fn, *args)))

    def last_seq(self) -> int:
        return int(self.call("Exchange", self.manifest.exchange, "lastSeq")[0])

    def position(self, account: str) -> int:
        return int(self.call("Exchange", self.manifest.exchange, "positionOf", account, self.series)[0])

    def order(self, trader: LocalSigner, *, is_buy: bool, amount: int = OPTION, price: int = PRICE) -> Order:
        return Order(
            maker=trader.address,
            series=self.series,
            is_buy=is_buy,
            price=price,
            amount=amount,
            max_fee=USD,
            nonce=next(self._nonces),
            expiry=self.series_expiry - 1,
        )

    def fill(self, maker: int, taker: int, *, amount: int = OPTION, maker_buys: bool = True) -> Fill:
        mk, tk = self.traders[maker], self.traders[taker]
        domain = self.manifest.domain
        m = sign_order(self.order(mk, is_buy=maker_buys, amount=amount), domain, _key(mk))
        t = sign_order(self.order(tk, is_buy=not maker_buys, amount=amount), domain, _key(tk))
        return Fill(m, t, amount, maker_fee=USD // 10, taker_fee=USD // 5)

    def batch(self, seq: int, n_fills: int) -> Batch:
        n = len(self.traders)
        return Batch(seq, [self.fill(i % n, (i + 1) % n) for i in range(n_fills)])


_KEYS: dict[str, bytes] = {}


def _key(signer: LocalSigner) -> bytes:
    return _KEYS[signer.address]


def setup_venue(node: ChainNode, n_traders: int = 4, deposit: int = 1_000_000 * USD) -> Venue:
    """Deploy the suite on `node` (account 0 deploys and operates), list a put, fund traders 1..n."""
    chain = Chain.from_url(node.rpc_url)
    operator = LocalSigner(node.keys[0])
    manifest = deploy(chain, operator, DeployConfig())
    traders = []
    for key in node.keys[1 : 1 + n_traders]:
        signer = LocalSigner(key)
        _KEYS[signer.address] = bytes.fromhex(key[2:])
        traders.append(signer)
    quote = manifest.tokens["quote"].address
    underlying = manifest.tokens["underlying"].address
    head = chain.block("latest")
    assert head is not None
    expiry = head.timestamp + 30 * 86400
    send_and_wait(
        chain,
        operator,
        manifest.registry,
        REGISTRY.encode_call("listSeries", underlying, quote, STRIKE, expiry, False),
        nonce=chain.nonce(operator.address, "pending"),
    )
    venue = Venue(node, chain, manifest, operator, traders, series_id(underlying, quote, STRIKE, expiry, False), expiry)
    for trader in traders:
        venue.send(trader, quote, TOKEN.encode_call("mint", trader.address, deposit))
        venue.send(trader, quote, TOKEN.encode_call("approve", manifest.exchange, deposit))
        venue.send(trader, manifest.exchange, EXCHANGE.encode_call("deposit", quote, deposit))
    return venue
