"""Transaction dicts between web3 field names (ints, bytes) and JSON-RPC form (hex quantities).

Shared by the remote-signer client (encode) and server (decode), so both sides agree on the wire
format that `eth_signTransaction` uses in geth, Clef and Web3Signer.
"""

from __future__ import annotations

from typing import Any

#: Fields that are integers in web3 dicts and hex quantities ("0x1a") on the wire.
QUANTITY_FIELDS = frozenset(
    {"nonce", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "chainId", "type"}
)


def _hex_bytes(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def tx_to_rpc(tx: dict[str, Any], sender: str) -> dict[str, Any]:
    """A web3 transaction dict as an `eth_signTransaction` parameter, with `from` set to `sender`."""
    out: dict[str, Any] = {"from": sender}
    for key, value in tx.items():
        if key == "from":
            continue
        if key in QUANTITY_FIELDS and isinstance(value, int):
            out[key] = hex(value)
        elif key in ("data", "input"):
            out["data"] = _hex_bytes(value)
        elif key == "accessList":
            out[key] = [
                {"address": item["address"], "storageKeys": [_hex_bytes(k) for k in item["storageKeys"]]}
                for item in value
            ]
        else:
            out[key] = _hex_bytes(value)
    return out


def tx_from_rpc(obj: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(`from`, web3 transaction dict) from an `eth_signTransaction` parameter; raises ValueError if malformed."""
    tx: dict[str, Any] = {}
    sender = obj.get("from")
    if sender is not None and not isinstance(sender, str):
        raise ValueError("from must be an address string")
    for key, value in obj.items():
        if key == "from":
            continue
        if key in QUANTITY_FIELDS:
            if isinstance(value, str):
                tx[key] = int(value, 16) if value.startswith("0x") else int(value)
            elif isinstance(value, int):
                tx[key] = value
            else:
                raise ValueError(f"{key} must be a hex quantity")
        elif key in ("data", "input"):
            tx["data"] = value
        else:
            tx[key] = value
    return sender, tx
