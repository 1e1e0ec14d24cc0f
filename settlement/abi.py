"""ABI encoding and decoding for one forge artifact: calls, constructor, events and custom errors.

Thin over eth-abi (plus web3's ABI helpers for type strings); no provider, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_abi.grammar import ABIType, TupleType, parse

from ._hashing import checksum_address, keccak256
from .artifacts import Artifact, load_artifact
from .errors import ArtifactError


def _type_string(param: dict[str, Any]) -> str:
    """The canonical ABI type of one input/output, tuples expanded: `(address,bytes32,...)[]`."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _types(params: list[dict[str, Any]]) -> list[str]:
    return [_type_string(p) for p in params]


def _normalise(value: Any, abi_type: str) -> Any:
    """Decoded values in this package's forms: checksummed addresses, tuples as tuples."""
    if abi_type == "address":
        return checksum_address(bytes.fromhex(value[2:]))
    if isinstance(value, tuple | list) and abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [_normalise(v, inner) for v in value]
    if isinstance(value, tuple) and abi_type.startswith("("):
        parts = _split_tuple(abi_type[1:-1])
        return tuple(_normalise(v, t) for v, t in zip(value, parts, strict=True))
    return value


def _split_tuple(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


def _static_words(abi_type: ABIType) -> int:
    """32-byte words a static ABI type takes in event data (fixed arrays and tuples expanded)."""
    words = sum(_static_words(c) for c in abi_type.components) if isinstance(abi_type, TupleType) else 1
    for dims in abi_type.arrlist or ():
        words *= dims[0]
    return words


def _data_size(types: list[str]) -> int | None:
    """The exact byte length of the ABI encoding of `types`, or None if one of them is dynamic."""
    parsed = [parse(t) for t in types]
    if any(p.is_dynamic for p in parsed):
        return None
    return 32 * sum(_static_words(p) for p in parsed)


_MASK_128 = (1 << 128) - 1
_MASK_16 = (1 << 16) - 1


def unpack_trade(values: dict[str, Any]) -> dict[str, Any]:
    """`Exchange.Trade` with its packed words spelled out (docs/PROTOCOL.md, "Events"): the event
    (anonymous: a log with no topics and 6 data words) carries `series`, `maker`, `taker`,
    `premiumFill` = premium << 128 | seq << 24 | index << 8 | makerIsBuy, `amountPrice` =
    amount << 128 | price and `fees` = makerFee << 128 | takerFee; consumers read the named fields.
    `seq` is bits 24..127 of `premiumFill` (bits 88..127 are 0 from the exchange, so it is the
    uint64; a forged log with other bits set shows up as a seq no batch has). The event does not
    carry the two orders: they (and their EIP-712 digests) are fill `index` of the batch in the
    transaction's `settleBatch` calldata (`settlement.batch.decode_settle_call`)."""
    premium_fill: int = values["premiumFill"]
    amount_price: int = values["amountPrice"]
    fees: int = values["fees"]
    return {
        "seq": (premium_fill & _MASK_128) >> 24,
        "maker": values["maker"],
        "taker": values["taker"],
        "index": (premium_fill >> 8) & _MASK_16,
        "series": values["series"],
        "makerIsBuy": bool(premium_fill & 1),
        "amount": amount_price >> 128,
        "price": amount_price & _MASK_128,
        "premium": premium_fill >> 128,
        "makerFee": fees >> 128,
        "takerFee": fees & _MASK_128,
    }


#: Events whose packed words `decode_log` spells out: name -> (the packed fields, unpacker).
_UNPACK: dict[str, tuple[set[str], Any]] = {
    "Trade": ({"premiumFill", "amountPrice", "fees"}, unpack_trade),
}


@dataclass(frozen=True)
class EventABI:
    """One event of an artifact. `topic` is topic 0 of its logs, None for an anonymous event (its
    logs carry only the indexed params as topics). `data_size` is the exact byte length of its data,
    None when a data param is dynamic."""

    name: str
    topic: bytes | None
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]
    order: tuple[str, ...]
    data_size: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.topic is None


@dataclass(frozen=True)
class DecodedError:
    """A custom error (or `Error(string)` / `Panic(uint256)`) decoded from revert data."""

    name: str
    args: dict[str, Any]


class ContractABI:
    """Encoder/decoder for one compiled contract."""

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self._functions: dict[str, dict[str, Any]] = {}
        self._events: dict[bytes, EventABI] = {}
        self._anonymous: list[EventABI] = []
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        self._constructor: list[dict[str, Any]] = []
        for item in artifact.abi:
            kind = item.get("type")
            if kind == "function":
                self._functions[item["name"]] = item
            elif kind == "constructor":
                self._constructor = item["inputs"]
            elif kind == "event":
                anonymous = bool(item.get("anonymous", False))
                sig = f"{item['name']}({','.join(_types(item['inputs']))})"
                data = tuple((i["name"], _type_string(i)) for i in item["inputs"] if not i["indexed"])
                event = EventABI(
                    item["name"],
                    None if anonymous else keccak256(sig.encode()),
                    tuple((i["name"], _type_string(i)) for i in item["inputs"] if i["indexed"]),
                    data,
                    tuple(i["name"] for i in item["inputs"]),
                    _data_size([t for _, t in data]),
                )
                if event.topic is None:
                    self._anonymous.append(event)
                else:
                    self._events[event.topic] = event
            elif kind == "error":
                types = _types(item["inputs"])
                sig = f"{item['name']}({','.join(types)})"
                self._errors[keccak256(sig.encode())[:4]] = (item["name"], [i["name"] for i in item["inputs"]], types)
        self._errors[bytes.fromhex("08c379a0")] = ("Error", ["message"], ["string"])
        self._errors[bytes.fromhex("4e487b71")] = ("Panic", ["code"], ["uint256"])

    @property
    def events(self) -> dict[bytes, EventABI]:
        """Events by topic 0 (anonymous events have none: see `anonymous_events`)."""
        return self._events

    @property
    def anonymous_events(self) -> tuple[EventABI, ...]:
        """The anonymous events (logs without the signature topic), in ABI order."""
        return tuple(self._anonymous)

    def event(self, name: str) -> EventABI:
        """The event called `name`, anonymous or not."""
        for event in (*self._events.values(), *self._anonymous):
            if event.name == name:
                return event
        raise ArtifactError(f"{self.artifact.name} has no event {name}")

    def event_topic(self, name: str) -> bytes:
        """Topic 0 of event `name`'s logs; `ArtifactError` for an anonymous event (its logs have none,
        so they cannot be filtered by topic: fetch the address's logs and keep what `decode_log` names)."""
        event = self.event(name)
        if event.topic is None:
            raise ArtifactError(f"{self.artifact.name}.{name} is anonymous: its logs carry no topic 0")
        return event.topic

    def _function(self, name: str) -> dict[str, Any]:
        try:
            return self._functions[name]
        except KeyError:
            raise ArtifactError(f"{self.artifact.name} has no function {name}") from None

    def input_types(self, name: str) -> tuple[str, ...]:
        """The canonical ABI types of function `name`'s parameters."""
        return tuple(_types(self._function(name)["inputs"]))

    def selector(self, name: str) -> bytes:
        fn = self._function(name)
        return keccak256(f"{name}({','.join(_types(fn['inputs']))})".encode())[:4]

    def encode_call(self, name: str, *args: Any) -> bytes:
        """Calldata of `name(*args)`."""
        fn = self._function(name)
        return self.selector(name) + abi_encode(_types(fn["inputs"]), list(args))

    def decode_output(self, name: str, data: bytes) -> tuple[Any, ...]:
        """Return values of `name` (a tuple, even for one value)."""
        types = _types(self._function(name)["outputs"])
        return tuple(_normalise(v, t) for v, t in zip(abi_decode(types, data), types, strict=True))

    def encode_deploy(self, *args: Any) -> bytes:
        """Creation bytecode followed by the encoded constructor arguments."""
        return bytes.fromhex(self.artifact.bytecode[2:]) + abi_encode(_types(self._constructor), list(args))

    def decode_log(self, topics: list[bytes], data: bytes) -> tuple[str, dict[str, Any]] | None:
        """(event name, arguments by name) of a log of this contract, or None for an unknown log.

        A log whose topic 0 is an event's signature hash decodes as that event. Any other log (in
        particular one without topics) decodes as the anonymous event whose indexed params match its
        topics and whose data params match its data (exact length, when they are static); None when
        no anonymous event or more than one fits."""
        if topics and (event := self._events.get(topics[0])) is not None:
            if len(topics) - 1 != len(event.indexed):
                return None
            return self._decode(event, topics[1:], data)
        fits = [
            e
            for e in self._anonymous
            if len(e.indexed) == len(topics) and (e.data_size is None or e.data_size == len(data))
        ]
        if len(fits) != 1:
            return None
        try:
            return self._decode(fits[0], topics, data)
        except DecodingError:  # the right length but no valid encoding (e.g. a dirty address word): not this event
            return None

    def _decode(self, event: EventABI, topics: list[bytes], data: bytes) -> tuple[str, dict[str, Any]]:
        values: dict[str, Any] = {}
        for (arg, abi_type), topic in zip(event.indexed, topics, strict=True):
            values[arg] = _normalise(abi_decode([abi_type], topic)[0], abi_type)
        decoded = abi_decode([t for _, t in event.data], data)
        for (arg, abi_type), value in zip(event.data, decoded, strict=True):
            values[arg] = _normalise(value, abi_type)
        unpack = _UNPACK.get(event.name)
        if unpack is not None and unpack[0] <= values.keys():
            return event.name, unpack[1](values)
        return event.name, {k: values[k] for k in event.order}

    def decode_error(self, data: bytes) -> DecodedError | None:
        """The custom error in revert `data`, or None if the selector is not this contract's."""
        entry = self._errors.get(bytes(data[:4]))
        if entry is None:
            return None
        name, arg_names, types = entry
        try:
            values = abi_decode(types, bytes(data[4:]))
        except DecodingError:
            return None
        return DecodedError(name, {n: _normalise(v, t) for n, v, t in zip(arg_names, values, types, strict=True)})


@cache
def contract_abi(name: str, source: str | None = None) -> ContractABI:
    """The (cached) `ContractABI` of forge artifact `name`."""
    return ContractABI(load_artifact(name, source))
