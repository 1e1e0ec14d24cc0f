"""Transaction building, fees and fee bumps shared by deploy and the batch submitter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keys.signer import Signer

from .chain import Chain, Receipt, wait_for
from .errors import ChainError

#: Minimum replacement bump nodes accept (Geth's txpool `PriceBump` is 10%; CoW uses 12.5%): num/den.
BUMP_NUM, BUMP_DEN = 1125, 1000


def _ceil_bump(value: int) -> int:
    return -(-value * BUMP_NUM // BUMP_DEN) + 1


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fees (`max_fee`, `priority_fee`) or a legacy `gas_price` when the chain has no base fee. Wei."""

    max_fee: int | None = None
    priority_fee: int | None = None
    gas_price: int | None = None

    def bumped(self) -> Fees:
        """Every component raised by more than 12.5% (a valid replacement at the same nonce)."""
        if self.gas_price is not None:
            return Fees(gas_price=_ceil_bump(self.gas_price))
        assert self.max_fee is not None and self.priority_fee is not None
        return Fees(max_fee=_ceil_bump(self.max_fee), priority_fee=_ceil_bump(self.priority_fee))

    def at_least(self, other: Fees) -> Fees:
        """Componentwise maximum (keep a bump when the market fell)."""
        if self.gas_price is not None or other.gas_price is not None:
            return Fees(gas_price=max(self.gas_price or 0, other.gas_price or 0))
        return Fees(
            max_fee=max(self.max_fee or 0, other.max_fee or 0),
            priority_fee=max(self.priority_fee or 0, other.priority_fee or 0),
        )

    def covers(self, base_fee: int | None) -> bool:
        """Whether a tx with these fees can be included in a block with `base_fee`."""
        if base_fee is None:
            return True
        cap = self.gas_price if self.gas_price is not None else self.max_fee
        return cap is not None and cap >= base_fee

    def fields(self) -> dict[str, int]:
        if self.gas_price is not None:
            return {"gasPrice": self.gas_price}
        assert self.max_fee is not None and self.priority_fee is not None
        return {"maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.priority_fee}

    def to_json(self) -> dict[str, int | None]:
        return {"maxFee": self.max_fee, "priorityFee": self.priority_fee, "gasPrice": self.gas_price}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Fees:
        return cls(obj.get("maxFee"), obj.get("priorityFee"), obj.get("gasPrice"))


def market_fees(chain: Chain, base_fee_multiplier: int = 2) -> Fees:
    """Fees that ride out a few full blocks: max fee = multiplier * next base fee + tip."""
    block = chain.block("latest")
    if block is None:
        raise ChainError("the node returned no latest block")
    tip = chain.max_priority_fee()
    if block.base_fee is None:
        return Fees(gas_price=int(chain.rpc("eth_gasPrice"), 16))
    return Fees(max_fee=base_fee_multiplier * block.base_fee + tip, priority_fee=tip)


def build_tx(
    chain_id: int, nonce: int, to: str | None, data: bytes, gas: int, fees: Fees, value: int = 0
) -> dict[str, Any]:
    """A transaction dict in web3 field names, ready for `Signer.sign_transaction`."""
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "gas": gas, "value": value, "data": data}
    if to is not None:
        tx["to"] = to
    tx.update(fees.fields())
    if fees.gas_price is None:
        tx["type"] = 2
    return tx


def wait_receipt(chain: Chain, tx_hash: bytes, timeout: float = 60.0) -> Receipt:
    result: Receipt = wait_for(lambda: chain.receipt(tx_hash), timeout, what=f"receipt of 0x{tx_hash.hex()}")
    return result


def send_and_wait(
    chain: Chain,
    signer: Signer,
    to: str | None,
    data: bytes,
    *,
    nonce: int,
    gas: int | None = None,
    fees: Fees | None = None,
    timeout: float = 120.0,
) -> Receipt:
    """Sign, send and wait for one transaction (deploy and admin steps); raises `ChainError` if it reverts."""
    if gas is None:
        call: dict[str, Any] = {"from": signer.address, "data": "0x" + data.hex()}
        if to is not None:
            call["to"] = to
        gas = chain.estimate_gas(call) * 6 // 5 + 10_000
    tx = build_tx(chain.chain_id(), nonce, to, data, gas, fees or market_fees(chain))
    tx_hash = chain.send_raw_transaction(signer.sign_transaction(tx))
    receipt = wait_receipt(chain, tx_hash, timeout)
    if receipt.status != 1:
        raise ChainError(f"transaction 0x{tx_hash.hex()} reverted (nonce {nonce})")
    return receipt
