"""On-chain helpers for makers: deposit and withdraw collateral, read vault balances (signed by a `Signer`)."""

from __future__ import annotations

from keys.signer import Signer
from relayer.sdk.errors import ClientError
from settlement.abi import contract_abi
from settlement.chain import Chain
from settlement.errors import ChainError
from settlement.transactions import send_and_wait

_EXCHANGE = contract_abi("Exchange")
_TOKEN = contract_abi("TestToken")  # the ERC-20 surface (approve, allowance, balanceOf)


class OnChain:
    """Synchronous JSON-RPC helpers against one exchange (the vault); every method waits for its receipt."""

    def __init__(self, rpc_url: str, exchange: str, signer: Signer) -> None:
        self.chain = Chain.from_url(rpc_url)
        self.exchange = exchange
        self.signer = signer

    def _send(self, to: str, data: bytes, what: str) -> bytes:
        try:
            receipt = send_and_wait(
                self.chain, self.signer, to, data, nonce=self.chain.nonce(self.signer.address, "pending")
            )
        except ChainError as exc:
            raise ClientError("chain_error", f"{what}: {exc}") from exc
        return receipt.tx_hash

    def deposit(self, asset: str, amount: int) -> bytes:
        """Approve the exchange for `amount` (if needed) and deposit it; returns the deposit's tx hash."""
        (allowance,) = _TOKEN.decode_output(
            "allowance",
            self.chain.call(asset, _TOKEN.encode_call("allowance", self.signer.address, self.exchange)),
        )
        if int(allowance) < amount:
            self._send(asset, _TOKEN.encode_call("approve", self.exchange, amount), "approve")
        return self._send(self.exchange, _EXCHANGE.encode_call("deposit", asset, amount), "deposit")

    def withdraw(self, asset: str, amount: int) -> bytes:
        """Withdraw `amount` of free collateral; returns the tx hash."""
        return self._send(self.exchange, _EXCHANGE.encode_call("withdraw", asset, amount), "withdraw")

    def balance(self, asset: str) -> tuple[int, int]:
        """(free, locked) base units of `asset` held for the signer by the vault."""
        free, locked = _EXCHANGE.decode_output(
            "balanceOf", self.chain.call(self.exchange, _EXCHANGE.encode_call("balanceOf", self.signer.address, asset))
        )
        return int(free), int(locked)
