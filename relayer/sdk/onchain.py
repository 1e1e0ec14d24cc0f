"""On-chain helpers for makers (signed by a `Signer`): deposit and withdraw collateral, read vault
balances, register or revoke delegate (hot) keys that may sign orders for the maker, and cancel or
look up one-shot orders by sequence number."""

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

    def balance(self, asset: str, account: str | None = None) -> tuple[int, int]:
        """(free, locked) base units of `asset` held by the vault for `account` (default: the signer)."""
        who = account or self.signer.address
        free, locked = _EXCHANGE.decode_output(
            "balanceOf", self.chain.call(self.exchange, _EXCHANGE.encode_call("balanceOf", who, asset))
        )
        return int(free), int(locked)

    def set_delegate(self, key: str, expiry: int) -> bytes:
        """Let `key` sign orders and cancels for the signer (the maker) while block time < `expiry`
        (unix seconds; re-registering changes the expiry). Returns the tx hash once mined."""
        return self._send(self.exchange, _EXCHANGE.encode_call("setDelegate", key, expiry), "setDelegate")

    def revoke_delegate(self, key: str) -> bytes:
        """Revoke `key` at once; returns the tx hash once mined (the relayer refuses its next order)."""
        return self._send(self.exchange, _EXCHANGE.encode_call("revokeDelegate", key), "revokeDelegate")

    def delegate_expiry(self, key: str, maker: str | None = None) -> int:
        """Unix seconds until which `key` may sign for `maker` (default: the signer); 0 if none or revoked."""
        who = maker or self.signer.address
        (expiry,) = _EXCHANGE.decode_output(
            "delegateExpiry", self.chain.call(self.exchange, _EXCHANGE.encode_call("delegateExpiry", who, key))
        )
        return int(expiry)

    def cancel_one_shot(self, series: bytes, seqs: list[int], maker: str | None = None) -> bytes:
        """Spend one-shot sequence numbers `seqs` of `series` without filling them (`cancelOneShot`;
        with `maker`, `cancelOneShotFor` by a live delegate). Returns the tx hash once mined."""
        if maker is None:
            data = _EXCHANGE.encode_call("cancelOneShot", series, seqs)
        else:
            data = _EXCHANGE.encode_call("cancelOneShotFor", maker, series, seqs)
        return self._send(self.exchange, data, "cancelOneShot")

    def is_one_shot_spent(self, series: bytes, seq: int, account: str | None = None) -> bool:
        """Whether `account`'s (default: the signer's) one-shot order number `seq` on `series` is spent."""
        who = account or self.signer.address
        (spent,) = _EXCHANGE.decode_output(
            "isOneShotSpent",
            self.chain.call(self.exchange, _EXCHANGE.encode_call("isOneShotSpent", who, series, seq)),
        )
        return bool(spent)
