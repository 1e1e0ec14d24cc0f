"""Operator actions on the chain: list a series, read the listed series, post an oracle price.

Shared by the `strikebook` CLI and the admin API. Every function is synchronous (JSON-RPC over
HTTP); wrap it in `asyncio.to_thread` from async code. Failures are `ChainOpError` with a
one-line message (the revert's custom error when the contract gave one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keys.signer import Signer
from relayer.errors import RelayerError
from settlement._hashing import checksum_address
from settlement.abi import contract_abi
from settlement.chain import CallReverted, Chain
from settlement.errors import ChainError
from settlement.manifest import Manifest
from settlement.order import series_id
from settlement.signing import recover_raw
from settlement.transactions import send_and_wait

_REGISTRY = contract_abi("SeriesRegistry")
_ORACLE = contract_abi("SettlementOracle")

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


def _send(chain: Chain, signer: Signer, to: str, data: bytes, what: str, abis: Sequence[str]) -> None:
    try:
        # simulate first: a revert then comes back with its custom error
        chain.call(to, data, sender=signer.address)
        send_and_wait(chain, signer, to, data, nonce=chain.nonce(signer.address, "pending"))
    except ChainError as exc:
        raise ChainOpError(f"{what} failed: {_revert_reason(abis, exc)}") from exc


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
    topic = "0x" + _REGISTRY.event_topic("SeriesListed").hex()
    out: dict[bytes, ListedSeries] = {}
    head = chain.block_number()
    start = manifest.deployment_block
    while start <= head:
        end = min(head, start + 9_999)
        for log in chain.logs(start, end, [manifest.registry], [[topic]]):
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
        start = end + 1
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
