"""Operator key rotation: the batch submitter's signer, replaced between batches.

The submitter's nonce bookkeeping belongs to its key: a batch whose transaction is journaled
(signed, maybe broadcast) may only ever be rebroadcast, waited for or fee-bumped **by the key that
signed it**, at the nonce it took. So a new key takes over only when no batch is in flight:

- no `submit` call is running, and
- the submit journal holds no unfinished batch with a transaction already sent.

A batch that was cut but has no transaction yet is not in flight in this sense: the new key sends
it from scratch (its nonce is read from the chain for the new address). `replace` waits for the
in-flight batch to finish (up to a timeout) and never interrupts it.

`has_operator_role` reads `Exchange.hasRole(OPERATOR_ROLE, address)`: a key without the role would
revert every batch, so the admin route refuses it before anything changes.
"""

from __future__ import annotations

import asyncio
import threading
import time

from keys.keystore import KeyRole, Keystore
from keys.keystore_signer import KeystoreSigner
from keys.passwords import PasswordSource
from keys.signer import Signer
from settlement.abi import contract_abi
from settlement.batch import Batch
from settlement.chain import Chain
from settlement.submitter import SubmitResult, Submitter


class BatchInFlight(Exception):
    """The in-flight batch did not finish within the rotation's timeout; nothing was changed."""


class WrongKeyRole(Exception):
    """The keystore key is not an operator key (its file says maker, oracle or delegate)."""


def has_operator_role(chain: Chain, exchange: str, address: str) -> bool:
    """True when `address` holds OPERATOR_ROLE on the exchange (an eth_call at the latest block)."""
    abi = contract_abi("Exchange")
    (role,) = abi.decode_output("OPERATOR_ROLE", chain.call(exchange, abi.encode_call("OPERATOR_ROLE")))
    (ok,) = abi.decode_output("hasRole", chain.call(exchange, abi.encode_call("hasRole", role, address)))
    return bool(ok)


class RotatableSubmitter:
    """A `Submitter` whose signer can be replaced between batches (see the module docstring).

    `submit` runs on a worker thread (the venue calls it through `asyncio.to_thread`); the swap
    and the busy flag share one lock, so a swap never lands while a `submit` is running.
    """

    def __init__(self, inner: Submitter) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._busy = False

    @property
    def signer(self) -> Signer:
        """The key that signs the next batch."""
        return self._inner.signer

    def submit(self, batch: Batch) -> SubmitResult:
        with self._lock:
            self._busy = True
            inner = self._inner
        try:
            return inner.submit(batch)
        finally:
            with self._lock:
                self._busy = False

    def _in_flight_locked(self) -> bool:
        return self._busy or any(record.attempts for record in self._inner.journal.unfinished())

    def in_flight(self) -> bool:
        """True while a batch is being submitted or has a sent transaction not yet final."""
        with self._lock:
            return self._in_flight_locked()

    def try_replace(self, signer: Signer) -> Signer | None:
        """Swap to `signer` if no batch is in flight; returns the previous signer, or None if busy."""
        with self._lock:
            if self._in_flight_locked():
                return None
            old = self._inner
            self._inner = Submitter(old.chain, signer, old.exchange, old.journal, old.config)
            return old.signer

    async def replace(self, signer: Signer, *, timeout_s: float = 30.0, poll_s: float = 0.05) -> Signer:
        """Swap to `signer` as soon as no batch is in flight; returns the previous signer.

        Raises `BatchInFlight` (and changes nothing) if a batch is still in flight after `timeout_s`.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            old = await asyncio.to_thread(self.try_replace, signer)
            if old is not None:
                return old
            if time.monotonic() >= deadline:
                raise BatchInFlight(f"a batch was still in flight after {timeout_s:g} s; the operator key is unchanged")
            await asyncio.sleep(poll_s)


class OperatorKeyLoader:
    """Loads operator keys by name from the relayer's keystore, unlocked with its password source."""

    def __init__(self, keystore: Keystore, password: PasswordSource) -> None:
        self.keystore = keystore
        self.password = password

    def __repr__(self) -> str:
        return f"OperatorKeyLoader({self.keystore!r}, {self.password!r})"

    def load(self, name: str) -> KeystoreSigner:
        """The unlocked key `name`; raises `keys.errors.KeysError` subclasses or `WrongKeyRole`."""
        info = self.keystore.info(name)
        if info.role is not KeyRole.OPERATOR:
            raise WrongKeyRole(f"key {name!r} is a {info.role.value} key, not an operator key")
        return KeystoreSigner(self.keystore, name, self.password)


__all__ = [
    "BatchInFlight",
    "OperatorKeyLoader",
    "RotatableSubmitter",
    "WrongKeyRole",
    "has_operator_role",
]
