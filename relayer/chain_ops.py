"""Operator actions on the chain: list a series, read the listed series, post an oracle price, settle.

Shared by the `strikebook` CLI and the admin API. Every function is synchronous (JSON-RPC over
HTTP); wrap it in `asyncio.to_thread` from async code. Failures are `ChainOpError` with a
one-line message (the revert's custom error when the contract gave one).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from keys.signer import Signer
from relayer.errors import RelayerError
from settlement._hashing import checksum_address
from settlement.abi import contract_abi
from settlement.chain import CallReverted, Chain, Log, Receipt
from settlement.errors import ChainError
from settlement.manifest import Manifest
from settlement.order import series_id
from settlement.signing import recover_raw
from settlement.transactions import send_and_wait

_REGISTRY = contract_abi("SeriesRegistry")
_ORACLE = contract_abi("SettlementOracle")
_EXCHANGE = contract_abi("Exchange")
_LOG_CHUNK = 10_000

#: EIP-712 of oracle reports (docs/PROTOCOL.md, "Oracle report").
REPORT_DOMAIN_NAME = "Strikebook Oracle"
REPORT_FIELDS = (("underlying", "address"), ("expiry", "uint256"), ("price", "uint256"))


class ChainOpError(RelayerError):
    """An operator action on the chain failed; the message says why in one line."""


@dataclass(frozen=True)
class ListedSeries:
    id: bytes
    underlying: str
    quote: str
    strike: int
    expiry: int
    is_call: bool
    unit: int


def _revert_reason(abi_names: Sequence[str], exc: Exception) -> str:
    data = exc.data if isinstance(exc, CallReverted) else None
    if data:
        for name in abi_names:
            decoded = contract_abi(name).decode_error(data)
            if decoded is not None:
                args = ", ".join(f"{k}={v.hex() if isinstance(v, bytes) else v}" for k, v in decoded.args.items())
                return f"{decoded.name}({args})"
    return str(exc)


def _send(chain: Chain, signer: Signer, to: str, data: bytes, what: str, abis: Sequence[str]) -> Receipt:
    try:
        # simulate first: a revert then comes back with its custom error
        chain.call(to, data, sender=signer.address)
        return send_and_wait(chain, signer, to, data, nonce=chain.nonce(signer.address, "pending"))
    except ChainError as exc:
        raise ChainOpError(f"{what} failed: {_revert_reason(abis, exc)}") from exc


def _logs(chain: Chain, manifest: Manifest, address: str, topic: bytes | None) -> list[Log]:
    """Every log of `address` with topic 0 `topic` (every log of it when `topic` is None: the only
    way to read an anonymous event, whose logs no topic filter selects) since the deployment, in
    block order."""
    out: list[Log] = []
    head = chain.block_number()
    start = manifest.deployment_block
    topics = None if topic is None else [["0x" + topic.hex()]]
    while start <= head:
        end = min(head, start + _LOG_CHUNK - 1)
        out.extend(chain.logs(start, end, [address], topics))
        start = end + 1
    return out


def list_series(
    chain: Chain,
    manifest: Manifest,
    lister: Signer,
    underlying: str,
    quote: str,
    strike: int,
    expiry: int,
    is_call: bool,
) -> bytes:
    """List a series with a LISTER_ROLE key; returns its id. `strike` quote base units per whole underlying."""
    data = _REGISTRY.encode_call("listSeries", underlying, quote, strike, expiry, is_call)
    _send(chain, lister, manifest.registry, data, "listSeries", ["SeriesRegistry"])
    return series_id(underlying, quote, strike, expiry, is_call)


def listed_series(chain: Chain, manifest: Manifest) -> list[ListedSeries]:
    """Every series the registry has listed, read from its `SeriesListed` events, by expiry."""
    out: dict[bytes, ListedSeries] = {}
    for log in _logs(chain, manifest, manifest.registry, _REGISTRY.event_topic("SeriesListed")):
        decoded = _REGISTRY.decode_log(list(log.topics), log.data)
        if decoded is None:
            continue
        args = decoded[1]
        sid = bytes(args["id"])
        call = _REGISTRY.encode_call("seriesOf", sid)
        (raw,) = _REGISTRY.decode_output("seriesOf", chain.call(manifest.registry, call))
        unit = int(raw[5]) if isinstance(raw, tuple) else 0
        out[sid] = ListedSeries(
            sid,
            checksum_address(bytes.fromhex(str(args["underlying"])[2:])),
            checksum_address(bytes.fromhex(str(args["quote"])[2:])),
            int(args["strike"]),
            int(args["expiry"]),
            bool(args["isCall"]),
            unit,
        )
    return sorted(out.values(), key=lambda s: (s.expiry, s.id))


def report_typed_data(manifest: Manifest, underlying: str, expiry: int, price: int) -> dict[str, Any]:
    """The `eth_signTypedData_v4` payload an oracle signer signs for one price report."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "PriceReport": [{"name": n, "type": t} for n, t in REPORT_FIELDS],
        },
        "primaryType": "PriceReport",
        "domain": {
            "name": REPORT_DOMAIN_NAME,
            "version": "1",
            "chainId": manifest.chain_id,
            "verifyingContract": manifest.oracle,
        },
        "message": {"underlying": checksum_address(bytes.fromhex(underlying[2:])), "expiry": expiry, "price": price},
    }


def post_oracle_price(
    chain: Chain,
    manifest: Manifest,
    sender: Signer,
    signers: Sequence[Signer],
    underlying: str,
    expiry: int,
    price: int,
) -> bytes:
    """Have each oracle signer sign the report, check the signatures, and submit them sorted by signer.

    Returns the on-chain report digest. `price` is quote base units per whole underlying.
    """
    if not signers:
        raise ChainOpError("at least one oracle signer is needed")
    try:
        (digest,) = _ORACLE.decode_output(
            "reportDigest", chain.call(manifest.oracle, _ORACLE.encode_call("reportDigest", underlying, expiry, price))
        )
    except ChainError as exc:
        raise ChainOpError(f"reading the report digest failed: {exc}") from exc
    digest = bytes(digest)
    typed = report_typed_data(manifest, underlying, expiry, price)
    signed: list[tuple[bytes, bytes]] = []
    for s in signers:
        sig = s.sign_typed_data(typed)
        who = recover_raw(digest, sig)
        if who != bytes.fromhex(s.address[2:]):
            raise ChainOpError(f"signer {s.address} produced a signature over another digest")
        signed.append((who, sig))
    signed.sort(key=lambda pair: pair[0])
    data = _ORACLE.encode_call("submitPrice", underlying, expiry, price, [sig for _, sig in signed])
    _send(chain, sender, manifest.oracle, data, "submitPrice", ["SettlementOracle"])
    return digest


# ---------------------------------------------------------------------------------------- expiry settlement


def final_price(chain: Chain, manifest: Manifest, underlying: str, expiry: int) -> int | None:
    """The oracle's final price for (underlying, expiry), or None while it is not final."""
    data = chain.call(manifest.oracle, _ORACLE.encode_call("finalPrice", underlying, expiry))
    price, is_final = _ORACLE.decode_output("finalPrice", data)
    return int(price) if is_final else None


def position_of(chain: Chain, manifest: Manifest, account: str, series: bytes) -> int:
    """`account`'s open position in `series` (underlying base units, + long, - short)."""
    data = chain.call(manifest.exchange, _EXCHANGE.encode_call("positionOf", account, series))
    (pos,) = _EXCHANGE.decode_output("positionOf", data)
    return int(pos)


def traders_by_series(chain: Chain, manifest: Manifest, series: Iterable[bytes]) -> dict[bytes, set[str]]:
    """Every account that ever traded each of `series` (maker or taker of a `Trade` event).

    `Trade` is anonymous (a log without topics), so no topic filter selects it: this reads every
    exchange log and keeps the ones that decode as `Trade`."""
    wanted = set(series)
    out: dict[bytes, set[str]] = {sid: set() for sid in wanted}
    for log in _logs(chain, manifest, manifest.exchange, None):
        if log.topics:  # a Trade has none; skip the named events without decoding them
            continue
        decoded = _EXCHANGE.decode_log([], log.data)
        if decoded is None or decoded[0] != "Trade":
            continue
        args = decoded[1]
        sid = bytes(args["series"])
        if sid in wanted:
            out[sid].update((str(args["maker"]), str(args["taker"])))
    return out


@dataclass(frozen=True)
class AccountToSettle:
    """One account's open positions in series whose final price is known."""

    account: str
    positions: tuple[tuple[bytes, int], ...]  # (series id, position)

    @property
    def series(self) -> list[bytes]:
        return [sid for sid, _ in self.positions]


@dataclass(frozen=True)
class SettlementPlan:
    """What `settle` would do: the final series in scope, their prices, and the open positions in them."""

    final: tuple[ListedSeries, ...]
    prices: dict[bytes, int]
    awaiting_price: tuple[ListedSeries, ...]  # expired, in scope, no final price yet
    accounts: tuple[AccountToSettle, ...]
    traders: int  # accounts that ever traded a final series

    @property
    def positions(self) -> int:
        return sum(len(a.positions) for a in self.accounts)


def _expiry_text(expiry: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expiry))


def settlement_plan(chain: Chain, manifest: Manifest, only: Sequence[bytes] | None = None) -> SettlementPlan:
    """The open positions in expired series with a final oracle price, found from the `Trade` events.

    Without `only`, every listed series is in scope and expired ones still waiting for a price are
    reported in `awaiting_price`. With `only`, each named series must be listed, expired and final,
    else `ChainOpError` names the first that is not (and its expiry).
    """
    try:
        listed = {s.id: s for s in listed_series(chain, manifest)}
        head = chain.block("latest")
        if head is None:
            raise ChainOpError("the node returned no latest block")
        if only is not None:
            for sid in only:
                if sid not in listed:
                    raise ChainOpError(f"series 0x{sid.hex()} is not listed in the registry {manifest.registry}")
        scope = [listed[sid] for sid in dict.fromkeys(only)] if only is not None else list(listed.values())
        final: list[ListedSeries] = []
        awaiting: list[ListedSeries] = []
        prices: dict[bytes, int] = {}
        for s in scope:
            if s.expiry > head.timestamp:
                if only is not None:
                    raise ChainOpError(
                        f"series 0x{s.id.hex()} has not expired: expiry {s.expiry} ({_expiry_text(s.expiry)}) is after "
                        f"the chain's time {head.timestamp}"
                    )
                continue
            price = final_price(chain, manifest, s.underlying, s.expiry)
            if price is None:
                if only is not None:
                    raise ChainOpError(
                        f"no final price yet for series 0x{s.id.hex()} (expiry {s.expiry}, {_expiry_text(s.expiry)}): "
                        f"post it with `strikebook oracle post --expiry {s.expiry}`"
                    )
                awaiting.append(s)
                continue
            final.append(s)
            prices[s.id] = price
        traders = traders_by_series(chain, manifest, prices)
        everyone = sorted(set().union(*traders.values())) if traders else []
        accounts: list[AccountToSettle] = []
        for account in everyone:
            held = tuple(
                (s.id, pos)
                for s in final
                if account in traders[s.id] and (pos := position_of(chain, manifest, account, s.id)) != 0
            )
            if held:
                accounts.append(AccountToSettle(account, held))
    except ChainError as exc:
        raise ChainOpError(f"reading the chain failed: {exc}") from exc
    return SettlementPlan(tuple(final), prices, tuple(awaiting), tuple(accounts), len(everyone))


def settle_account(chain: Chain, manifest: Manifest, sender: Signer, account: str, series: Sequence[bytes]) -> Receipt:
    """`Exchange.settle(account, series)` (permissionless; flat positions are skipped on-chain)."""
    data = _EXCHANGE.encode_call("settle", account, list(series))
    return _send(chain, sender, manifest.exchange, data, f"settle({account})", ["Exchange"])
