"""The Strikebook order: the Python twin of `contracts/src/libraries/OrderLib.sol`, function for function.

`OrderLib.structHash` -> `struct_hash`, `domainSeparator` -> `domain_separator`, `hash` -> `hash_order`
(the order id), `toTypedDataHash` -> `to_typed_data_hash`, `seriesId` -> `series_id`.

Units (docs/PROTOCOL.md): `amount` options in underlying base units (10**underlyingDecimals = one
option); `price` premium per whole option and `max_fee` fee cap per whole option, both in quote base
units; `nonce` any number (orders below the maker's minNonce are cancelled); `expiry` unix seconds.

The digest is computed on a fast path: precomputed type hash and per-domain separator, keccak from
pycryptodome, plain byte concatenation (no generic EIP-712 encoder).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ._hashing import Address, checksum_address, keccak256, parse_address
from .errors import OrderError, OrderJSONError

UINT256_MAX = 2**256 - 1

#: Nonce bit 255 marks a one-shot order (docs/PROTOCOL.md, "One-shot orders"): it fills only in the
#: batch that first fills it, and its spend state lives in the signer's position slot for the series.
ONE_SHOT_FLAG = 1 << 255
#: The low 64 bits of a one-shot order's nonce are its sequence number; bits 64..254 must be zero.
ONE_SHOT_SEQ_MASK = (1 << 64) - 1
#: Width of the per-(account, series) window of sequence numbers the exchange remembers.
ONE_SHOT_WINDOW = 64


def one_shot_nonce(seq: int) -> int:
    """The nonce of a one-shot order with sequence number `seq` (0 <= seq < 2**64)."""
    if type(seq) is not int or not 0 <= seq <= ONE_SHOT_SEQ_MASK:
        raise OrderError(f"one-shot sequence number {seq!r} is outside uint64", field="nonce")
    return ONE_SHOT_FLAG | seq


#: The EIP-712 type string of an order; `TYPE_HASH` is its keccak256 (tests check the preimage).
TYPE_STRING = (
    "Order(address maker,bytes32 series,bool isBuy,uint256 price,uint256 amount,"
    "uint256 maxFee,uint256 nonce,uint256 expiry)"
)
TYPE_HASH = bytes.fromhex("6b167b049f1b8fdfef9185edd2957e66589ba33f96b6b24fcff527d281a06eae")

#: keccak256 of `DOMAIN_TYPE_STRING`, precomputed.
DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
DOMAIN_TYPE_HASH = bytes.fromhex("8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f")
DOMAIN_NAME = "Strikebook"
DOMAIN_VERSION = "1"

#: EIP-712 field list of `Order`, in type-string order (for `eth_signTypedData_v4` payloads).
EIP712_ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("maker", "address"),
    ("series", "bytes32"),
    ("isBuy", "bool"),
    ("price", "uint256"),
    ("amount", "uint256"),
    ("maxFee", "uint256"),
    ("nonce", "uint256"),
    ("expiry", "uint256"),
)
EIP712_DOMAIN_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)

_ZERO12 = bytes(12)
_TRUE = (1).to_bytes(32, "big")
_FALSE = bytes(32)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _check_uint(name: str, value: object) -> int:
    if type(value) is not int:
        raise OrderError(f"must be an int, got {type(value).__name__}", field=name)
    if not 0 <= value <= UINT256_MAX:
        raise OrderError(f"{value} is outside uint256", field=name)
    return value


def _check_address(name: str, value: object) -> Address:
    if isinstance(value, bytes | bytearray) and len(value) == 20:
        return checksum_address(bytes(value))
    try:
        return checksum_address(parse_address(value))
    except ValueError as exc:
        raise OrderError(str(exc), field=name) from None


def _check_bytes32(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise OrderError(f"must be 32 bytes, got {value!r}", field=name)
    return bytes(value)


@dataclass(frozen=True, slots=True)
class Domain:
    """The exchange's EIP-712 domain ("Strikebook", "1", chain id, exchange address), separator precomputed."""

    chain_id: int
    verifying_contract: str
    separator: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chain_id = _check_uint("chain_id", self.chain_id)
        contract = _check_address("verifying_contract", self.verifying_contract)
        object.__setattr__(self, "verifying_contract", contract)
        object.__setattr__(self, "separator", domain_separator(chain_id, contract))

    def to_typed_data(self) -> dict[str, Any]:
        """The domain as the `domain` member of an `eth_signTypedData_v4` payload."""
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@lru_cache(maxsize=64)
def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    """`OrderLib.domainSeparator`: keccak256(abi.encode(DOMAIN_TYPE_HASH, name, version, chainId, contract))."""
    contract = parse_address(verifying_contract)
    return keccak256(
        DOMAIN_TYPE_HASH
        + keccak256(DOMAIN_NAME.encode())
        + keccak256(DOMAIN_VERSION.encode())
        + _word(chain_id)
        + _ZERO12
        + contract
    )


@lru_cache(maxsize=64)
def make_domain(chain_id: int, verifying_contract: str) -> Domain:
    """The (cached) `Domain` for a chain id and exchange address."""
    return Domain(chain_id, verifying_contract)


def series_id(underlying: str, quote: str, strike: int, expiry: int, is_call: bool) -> bytes:
    """`OrderLib.seriesId`: keccak256(abi.encode(underlying, quote, strike, expiry, isCall)).

    `strike` is quote base units per whole underlying; `expiry` unix seconds.
    """
    u = parse_address(_check_address("underlying", underlying))
    q = parse_address(_check_address("quote", quote))
    if type(is_call) is not bool:
        raise OrderError("must be a bool", field="is_call")
    return keccak256(
        _ZERO12
        + u
        + _ZERO12
        + q
        + _word(_check_uint("strike", strike))
        + _word(_check_uint("expiry", expiry))
        + (_TRUE if is_call else _FALSE)
    )


@dataclass(frozen=True, slots=True)
class Order:
    """A signed option order's fields, validated to their Solidity types on construction.

    `maker` is normalised to its checksummed form; `series` is the 32-byte series id (see `series_id`).
    """

    maker: str
    series: bytes
    is_buy: bool
    price: int
    amount: int
    max_fee: int
    nonce: int
    expiry: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "maker", _check_address("maker", self.maker))
        object.__setattr__(self, "series", _check_bytes32("series", self.series))
        if type(self.is_buy) is not bool:
            raise OrderError(f"must be a bool, got {type(self.is_buy).__name__}", field="is_buy")
        for name in ("price", "amount", "max_fee", "nonce", "expiry"):
            _check_uint(name, getattr(self, name))

    @property
    def is_one_shot(self) -> bool:
        """Whether the nonce carries `ONE_SHOT_FLAG` (the order fills only within one batch)."""
        return self.nonce >= ONE_SHOT_FLAG

    @property
    def one_shot_seq(self) -> int | None:
        """A one-shot order's sequence number (the nonce's low 64 bits); None for other orders."""
        return self.nonce & ONE_SHOT_SEQ_MASK if self.nonce >= ONE_SHOT_FLAG else None

    def struct_hash(self) -> bytes:
        """`OrderLib.structHash`."""
        return struct_hash(self)

    def digest(self, domain: Domain) -> bytes:
        """The order id: `OrderLib.hash` under `domain`."""
        return hash_order(self, domain)

    def as_tuple(self) -> tuple[str, bytes, bool, int, int, int, int, int]:
        """The fields in Solidity struct order (the ABI tuple web3 encodes)."""
        return (
            self.maker,
            self.series,
            self.is_buy,
            self.price,
            self.amount,
            self.max_fee,
            self.nonce,
            self.expiry,
        )

    def to_message(self) -> dict[str, Any]:
        """The `message` member of an `eth_signTypedData_v4` payload (EIP-712 field names)."""
        return {
            "maker": self.maker,
            "series": "0x" + self.series.hex(),
            "isBuy": self.is_buy,
            "price": self.price,
            "amount": self.amount,
            "maxFee": self.max_fee,
            "nonce": self.nonce,
            "expiry": self.expiry,
        }

    def to_typed_data(self, domain: Domain) -> dict[str, Any]:
        """The full `eth_signTypedData_v4` structure (what wallets and `Signer.sign_typed_data` sign)."""
        return {
            "types": {
                "EIP712Domain": [{"name": n, "type": t} for n, t in EIP712_DOMAIN_FIELDS],
                "Order": [{"name": n, "type": t} for n, t in EIP712_ORDER_FIELDS],
            },
            "primaryType": "Order",
            "domain": domain.to_typed_data(),
            "message": self.to_message(),
        }

    def to_json_dict(self) -> dict[str, Any]:
        """Canonical JSON object: integers as decimal strings, checksummed address, 0x-hex series."""
        return {
            "maker": self.maker,
            "series": "0x" + self.series.hex(),
            "isBuy": self.is_buy,
            "price": str(self.price),
            "amount": str(self.amount),
            "maxFee": str(self.max_fee),
            "nonce": str(self.nonce),
            "expiry": str(self.expiry),
        }

    def to_json(self) -> str:
        """`to_json_dict` serialised canonically (sorted keys, no whitespace)."""
        return _dumps(self.to_json_dict())

    @classmethod
    def from_json_dict(cls, obj: object) -> Order:
        """Parse the canonical JSON object; raises `OrderJSONError` on any deviation."""
        return _order_from_obj(obj, _ORDER_KEYS)

    @classmethod
    def from_json(cls, text: str | bytes) -> Order:
        return cls.from_json_dict(_loads(text))


def struct_preimage(order: Order) -> bytes:
    """abi.encode(TYPE_HASH, maker, series, isBuy, price, amount, maxFee, nonce, expiry): the 288 bytes
    `OrderLib.structHash` hashes, as one concatenation of 32-byte words."""
    return (
        TYPE_HASH
        + _ZERO12
        + bytes.fromhex(order.maker[2:])
        + order.series
        + (_TRUE if order.is_buy else _FALSE)
        + order.price.to_bytes(32, "big")
        + order.amount.to_bytes(32, "big")
        + order.max_fee.to_bytes(32, "big")
        + order.nonce.to_bytes(32, "big")
        + order.expiry.to_bytes(32, "big")
    )


def struct_hash(order: Order) -> bytes:
    """`OrderLib.structHash`: keccak256 of `struct_preimage(order)`."""
    return keccak256(struct_preimage(order))


def to_typed_data_hash(domain_sep: bytes, s_hash: bytes) -> bytes:
    """`OrderLib.toTypedDataHash`: keccak256("\\x19\\x01" || domainSeparator || structHash)."""
    return keccak256(b"\x19\x01" + domain_sep + s_hash)


def hash_order(order: Order, domain: Domain) -> bytes:
    """`OrderLib.hash`: the EIP-712 digest of `order` under `domain`, which is also the order id."""
    return keccak256(b"\x19\x01" + domain.separator + struct_hash(order))


# --- signed orders and the canonical JSON form ---------------------------------------------------

#: Longest signature accepted in JSON: ERC-1271 makers may sign with more than 65 bytes.
MAX_SIGNATURE_BYTES = 4096


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """An order with its maker's signature bytes.

    For an EOA maker the signature is 65 bytes r || s || v (see `settlement.signing`). A contract
    maker (ERC-1271) may use any bytes its `isValidSignature` accepts; those can only be checked
    on-chain, never by this offline model.
    """

    order: Order
    signature: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.order, Order):
            raise OrderError("must be an Order", field="order")
        sig = self.signature
        if not isinstance(sig, bytes | bytearray) or not 0 < len(sig) <= MAX_SIGNATURE_BYTES:
            raise OrderError(f"must be 1..{MAX_SIGNATURE_BYTES} bytes", field="signature")
        object.__setattr__(self, "signature", bytes(sig))

    def digest(self, domain: Domain) -> bytes:
        return hash_order(self.order, domain)

    def to_json_dict(self) -> dict[str, Any]:
        """The order's canonical JSON object plus `"signature": "0x…"` (lowercase hex)."""
        obj = self.order.to_json_dict()
        obj["signature"] = "0x" + self.signature.hex()
        return obj

    def to_json(self) -> str:
        return _dumps(self.to_json_dict())

    @classmethod
    def from_json_dict(cls, obj: object) -> SignedOrder:
        order = _order_from_obj(obj, _SIGNED_KEYS)
        assert isinstance(obj, dict)
        sig_text = obj["signature"]
        if (
            not isinstance(sig_text, str)
            or not _HEX_BYTES.fullmatch(sig_text)
            or not 0 < (len(sig_text) - 2) // 2 <= MAX_SIGNATURE_BYTES
        ):
            raise OrderJSONError("must be 0x followed by an even number of hex digits", field="signature")
        return cls(order, bytes.fromhex(sig_text[2:]))

    @classmethod
    def from_json(cls, text: str | bytes) -> SignedOrder:
        return cls.from_json_dict(_loads(text))


_ORDER_KEYS = frozenset(("maker", "series", "isBuy", "price", "amount", "maxFee", "nonce", "expiry"))
_SIGNED_KEYS = _ORDER_KEYS | {"signature"}
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,77}")
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")
_HEX_BYTES = re.compile(r"0x(?:[0-9a-fA-F]{2})+")


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _loads(text: str | bytes) -> object:
    try:
        return json.loads(text)
    except (ValueError, TypeError) as exc:
        raise OrderJSONError(f"not JSON: {exc}") from None


def _decimal(obj: dict[str, Any], key: str) -> int:
    value = obj[key]
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise OrderJSONError(f"must be a decimal string without sign or leading zeros, got {value!r}", field=key)
    number = int(value)
    if number > UINT256_MAX:
        raise OrderJSONError(f"{value} is outside uint256", field=key)
    return number


def _order_from_obj(obj: object, keys: frozenset[str]) -> Order:
    if not isinstance(obj, dict):
        raise OrderJSONError(f"must be a JSON object, got {type(obj).__name__}")
    present = set(obj)
    if missing := keys - present:
        raise OrderJSONError(f"missing keys: {sorted(missing)}")
    if unknown := present - keys:
        raise OrderJSONError(f"unknown keys: {sorted(unknown)}")
    try:
        maker_raw = parse_address(obj["maker"])
    except ValueError as exc:
        raise OrderJSONError(str(exc), field="maker") from None
    series = obj["series"]
    if not isinstance(series, str) or not _BYTES32.fullmatch(series):
        raise OrderJSONError("must be 0x followed by 64 hex digits", field="series")
    is_buy = obj["isBuy"]
    if type(is_buy) is not bool:
        raise OrderJSONError("must be true or false", field="isBuy")
    return Order(
        maker=checksum_address(maker_raw),
        series=bytes.fromhex(series[2:]),
        is_buy=is_buy,
        price=_decimal(obj, "price"),
        amount=_decimal(obj, "amount"),
        max_fee=_decimal(obj, "maxFee"),
        nonce=_decimal(obj, "nonce"),
        expiry=_decimal(obj, "expiry"),
    )
