"""The batch submitter: simulate, sign, send and see `settleBatch` through to a confirmed receipt.

Guarantees (single writer per operator key):
- A batch applies at most once: the exchange accepts `seq` only as lastSeq + 1, and the submitter
  reads the chain's `lastSeq` and its own journal before it sends anything.
- No nonce gap: a nonce is taken only when a transaction is journaled and sent, and every later
  attempt for that batch (rebroadcast, fee bump) reuses it until the chain consumes it.
- Restarts lose nothing: each signed transaction is journaled before broadcast; `submit` of the
  same batch after a restart resumes (rebroadcast, wait, bump) instead of starting over.
- Dropped or reorged-out transactions are rebroadcast; a transaction whose max fee no longer covers
  the next base fee, or that waited `stuck_after` seconds, is replaced with fees >= 12.5% higher.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keys.signer import Signer

from ._hashing import Address, keccak256, to_address
from .abi import ContractABI, DecodedError, contract_abi
from .batch import Batch, SkipReason, skip_reason
from .chain import CallReverted, Chain, Log, Receipt, RPCError, parse_log
from .errors import ChainError, SubmitError
from .journal import Attempt, BatchRecord, SubmitJournal
from .transactions import Fees, build_tx, market_fees

log = logging.getLogger(__name__)


def _exchange() -> ContractABI:
    """The exchange ABI, loaded on first use so importing this package never needs a build."""
    return contract_abi("Exchange")


@dataclass(frozen=True)
class Simulation:
    """What `settleBatch` would do now. `skips_known` is False when the node offers neither
    `eth_simulateV1` nor `debug_traceCall` (e.g. Ganache): then only a whole-batch revert is known."""

    method: str
    reverted: bool
    error: DecodedError | None
    skipped: dict[int, SkipReason | int]
    filled: tuple[int, ...]
    gas_used: int | None
    skips_known: bool = True


def _batch_outcome(
    seq: int, exchange: str, logs: list[Log] | tuple[Log, ...]
) -> tuple[dict[int, SkipReason | int], list[int]]:
    """The skipped (index -> reason) and filled indices of batch `seq` in `logs`. Only the exchange's
    own logs count: its `Trade` is anonymous (no topic 0 to tell it apart), so a log without topics
    from another contract could otherwise pass for one."""
    skipped: dict[int, SkipReason | int] = {}
    filled: list[int] = []
    for entry in logs:
        if entry.address.lower() != exchange.lower():
            continue
        decoded = _exchange().decode_log(list(entry.topics), entry.data)
        if decoded is None:
            continue
        name, args = decoded
        if args.get("seq") != seq:
            continue
        if name == "FillSkipped":
            skipped[args["index"]] = skip_reason(args["reason"])
        elif name == "Trade":
            filled.append(args["index"])
    return skipped, filled


def _sim_log(raw: dict[str, Any]) -> Log:
    filled = {
        "blockNumber": "0x0",
        "blockHash": "0x" + "00" * 32,
        "transactionHash": "0x" + "00" * 32,
        "transactionIndex": "0x0",
        "logIndex": raw.get("logIndex", raw.get("index", "0x0")),
        **raw,
        "topics": raw.get("topics") or [],  # a tracer may give null for a log without topics (a Trade)
    }
    return parse_log(filled)


def simulate_batch(chain: Chain, exchange: str, operator: str, batch: Batch) -> Simulation:
    """Dry-run `settleBatch` at the latest state and report skipped fills with their reasons.

    Tries `eth_simulateV1` (returns logs; Geth, Anvil, Reth, Nethermind), then `debug_traceCall`
    with the call tracer's logs, then a plain `eth_call` (revert or not, no reasons).
    """
    data = "0x" + batch.calldata().hex()
    call = {"from": operator, "to": exchange, "data": data}
    try:
        result = chain.rpc("eth_simulateV1", {"blockStateCalls": [{"calls": [call]}], "validation": False}, "latest")
        outcome = result[0]["calls"][0]
        gas = int(outcome["gasUsed"], 16)
        if int(outcome["status"], 16) != 1:
            revert = bytes.fromhex(outcome.get("returnData", "0x")[2:])
            return Simulation("eth_simulateV1", True, _exchange().decode_error(revert), {}, (), gas)
        skipped, filled = _batch_outcome(batch.seq, exchange, [_sim_log(raw) for raw in outcome.get("logs", [])])
        return Simulation("eth_simulateV1", False, None, skipped, tuple(filled), gas)
    except RPCError as exc:
        if not _unsupported(exc):
            raise
    try:
        trace = chain.rpc(
            "debug_traceCall", call, "latest", {"tracer": "callTracer", "tracerConfig": {"withLog": True}}
        )
        gas = int(trace.get("gasUsed", "0x0"), 16)
        if trace.get("error"):
            revert = bytes.fromhex(trace.get("output", "0x")[2:])
            return Simulation("debug_traceCall", True, _exchange().decode_error(revert), {}, (), gas)
        skipped, filled = _batch_outcome(batch.seq, exchange, [_sim_log(raw) for raw in trace.get("logs", [])])
        return Simulation("debug_traceCall", False, None, skipped, tuple(filled), gas)
    except RPCError as exc:
        if not _unsupported(exc):
            raise
    try:
        chain.call(exchange, batch.calldata(), sender=operator)
    except CallReverted as exc:
        decoded = _exchange().decode_error(exc.data) if exc.data else None
        return Simulation("eth_call", True, decoded, {}, (), None, skips_known=False)
    return Simulation("eth_call", False, None, {}, (), None, skips_known=False)


def _unsupported(exc: RPCError) -> bool:
    text = exc.rpc_message.lower()
    return exc.rpc_code in (-32601, -32700) or "not exist" in text or "not available" in text or "unsupported" in text


@dataclass(frozen=True)
class SubmitResult:
    """A batch applied on-chain and confirmed to the configured depth."""

    seq: int
    tx_hash: bytes
    block_number: int
    gas_used: int
    skipped: dict[int, SkipReason | int]
    filled: tuple[int, ...]
    attempts: tuple[Attempt, ...]
    simulation: Simulation | None
    resumed: bool


@dataclass(frozen=True)
class SubmitterConfig:
    """Confirmations: blocks on top of and including the receipt's. Times in seconds."""

    confirmations: int = 1
    poll_interval: float = 0.1
    stuck_after: float = 30.0
    timeout: float = 600.0
    max_attempts: int = 30
    gas_margin_pct: int = 25
    simulate: bool = True


@dataclass
class _State:
    record: BatchRecord
    last_sent: float
    seen_receipt: bool = False
    events: list[str] = field(default_factory=list)


class Submitter:
    """Submits batches for one operator key to one exchange (one submitter per key)."""

    def __init__(
        self,
        chain: Chain,
        signer: Signer,
        exchange: str,
        journal: SubmitJournal,
        config: SubmitterConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.chain = chain
        self.signer = signer
        self.exchange: Address = to_address(exchange)
        self.journal = journal
        self.config = config or SubmitterConfig()
        self._clock = clock
        self._sleep = sleep
        self._next_nonce: int | None = None

    # ---------------------------------------------------------------- chain reads

    def last_seq(self) -> int:
        """The exchange's last applied batch number."""
        abi = _exchange()
        (seq,) = abi.decode_output("lastSeq", self.chain.call(self.exchange, abi.encode_call("lastSeq")))
        return int(seq)

    def simulate(self, batch: Batch) -> Simulation:
        return simulate_batch(self.chain, self.exchange, self.signer.address, batch)

    # ---------------------------------------------------------------- submit

    def submit(self, batch: Batch) -> SubmitResult:
        """Apply `batch` exactly once and wait for `confirmations`; resumes after a restart.

        Raises `SubmitError` if the batch would revert, if seq is not next, or if `seq` was applied
        by a transaction this journal did not send (another writer).
        """
        fingerprint = batch.fingerprint()
        record = self.journal.get(batch.seq)
        if record is not None and record.fingerprint != fingerprint:
            raise SubmitError(f"batch {batch.seq} was already sent with different content; refusing to resend")
        last = self.last_seq()
        simulation: Simulation | None = None
        if record is None or not record.attempts:
            if last >= batch.seq:
                raise SubmitError(f"batch {batch.seq} is already applied on-chain (lastSeq {last}) by another sender")
            if last != batch.seq - 1:
                raise SubmitError(f"batch {batch.seq} is not next: the exchange's lastSeq is {last}")
            if self.config.simulate:
                simulation = self.simulate(batch)
                if simulation.reverted:
                    raise SubmitError(f"batch {batch.seq} would revert: {simulation.error or 'no reason given'}")
            record = BatchRecord(batch.seq, fingerprint)
            self._send_new(record, batch.calldata(), nonce=self._take_nonce())
            resumed = False
        else:
            resumed = True
            log.info("batch %d: resuming after restart with %d journaled attempts", batch.seq, len(record.attempts))
        state = _State(record, last_sent=self._clock() if not resumed else float("-inf"))
        receipt = self._drive(state, batch)
        skipped, filled = _batch_outcome(batch.seq, self.exchange, receipt.logs)
        self.journal.mark_final(batch.seq, receipt.tx_hash)
        return SubmitResult(
            seq=batch.seq,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            gas_used=receipt.gas_used,
            skipped=skipped,
            filled=tuple(sorted(filled)),
            attempts=tuple(state.record.attempts),
            simulation=simulation,
            resumed=resumed,
        )

    # ---------------------------------------------------------------- internals

    def _take_nonce(self) -> int:
        chain_pending = self.chain.nonce(self.signer.address, "pending")
        journaled = self.journal.max_nonce()
        candidates = [chain_pending]
        if self._next_nonce is not None:
            candidates.append(self._next_nonce)
        if journaled is not None:
            # never above the chain's view + unmined journaled txs: no gap, no reuse
            latest = self.chain.nonce(self.signer.address, "latest")
            candidates.append(min(journaled + 1, max(latest, chain_pending)))
        nonce = max(candidates)
        self._next_nonce = nonce + 1
        return nonce

    def _estimate_gas(self, calldata: bytes) -> int:
        try:
            gas = self.chain.estimate_gas(
                {"from": self.signer.address, "to": self.exchange, "data": "0x" + calldata.hex()}
            )
        except CallReverted as exc:
            decoded = _exchange().decode_error(exc.data) if exc.data else None
            raise SubmitError(f"settleBatch would revert: {decoded or exc}") from exc
        return gas * (100 + self.config.gas_margin_pct) // 100 + 20_000

    def _sign_and_send(self, record: BatchRecord, calldata: bytes, nonce: int, fees: Fees, gas: int) -> None:
        tx = build_tx(self.chain.chain_id(), nonce, self.exchange, calldata, gas, fees)
        raw = self.signer.sign_transaction(tx)
        attempt = Attempt(keccak256(raw), raw, nonce, fees, gas)
        self.journal.add_attempt(record.seq, record.fingerprint, attempt)  # write-ahead: journal, then send
        record.attempts.append(attempt)
        self._broadcast(attempt)

    def _send_new(self, record: BatchRecord, calldata: bytes, nonce: int) -> None:
        fees = market_fees(self.chain)
        self._sign_and_send(record, calldata, nonce, fees, self._estimate_gas(calldata))
        log.info("batch %d: sent 0x%s at nonce %d", record.seq, record.latest.tx_hash.hex(), nonce)

    def _broadcast(self, attempt: Attempt) -> None:
        try:
            self.chain.send_raw_transaction(attempt.raw)
        except RPCError as exc:
            text = exc.rpc_message.lower()
            if any(m in text for m in _RETRYABLE_SEND_ERRORS):
                # the nonce is taken (maybe by this very batch), a pricier twin is pending, or the
                # fees are below the base fee: the wait loop finds out which and bumps if needed
                log.warning("broadcast of 0x%s refused: %s", attempt.tx_hash.hex(), exc.rpc_message)
                return
            raise

    def _receipt_of(self, record: BatchRecord) -> Receipt | None:
        for attempt in reversed(record.attempts):
            receipt = self.chain.receipt(attempt.tx_hash)
            if receipt is not None:
                return receipt
        return None

    def _drive(self, state: _State, batch: Batch) -> Receipt:
        record = state.record
        deadline = self._clock() + self.config.timeout
        calldata: bytes | None = None
        while True:
            receipt = self._receipt_of(record)
            if receipt is not None:
                state.seen_receipt = True
                if receipt.status == 1 and _applies(receipt, batch.seq):
                    head = self.chain.block_number()
                    if head - receipt.block_number + 1 >= self.config.confirmations:
                        return receipt
                else:
                    # mined but reverted (paused, role revoked, seq taken): the nonce is spent, nothing applied
                    last = self.last_seq()
                    if last >= batch.seq:
                        raise SubmitError(f"batch {batch.seq} was applied by a transaction this submitter did not send")
                    raise SubmitError(
                        f"batch {batch.seq}: transaction 0x{receipt.tx_hash.hex()} reverted; nothing applied"
                    )
            else:
                if state.seen_receipt:
                    log.warning("batch %d: receipt vanished (reorg); rebroadcasting", batch.seq)
                    state.seen_receipt = False
                calldata = calldata or batch.calldata()
                self._nudge(state, batch, calldata)
            if self._clock() > deadline:
                raise SubmitError(f"batch {batch.seq}: not confirmed within {self.config.timeout}s")
            self._sleep(self.config.poll_interval)

    def _nudge(self, state: _State, batch: Batch, calldata: bytes) -> None:
        """No receipt yet: rebroadcast if the node lost the tx, replace it if it is stuck."""
        record = state.record
        latest = record.latest
        mined_nonce = self.chain.nonce(self.signer.address, "latest")
        if mined_nonce > latest.nonce:
            # our nonce is consumed, yet none of our hashes has a receipt
            self._sleep(self.config.poll_interval)  # a receipt may lag its block by a poll
            if self._receipt_of(record) is not None:
                return
            if self.last_seq() >= batch.seq:
                raise SubmitError(f"batch {batch.seq} was applied by a transaction this submitter did not send")
            log.warning("batch %d: nonce %d used by another transaction; resending", batch.seq, latest.nonce)
            self._next_nonce = None
            self._sign_and_send(record, calldata, self._take_nonce(), market_fees(self.chain), latest.gas)
            state.last_sent = self._clock()
            return
        pending = self.chain.block("pending")
        next_base = pending.base_fee if pending is not None else None
        if self.chain.transaction(latest.tx_hash) is None:
            log.warning("batch %d: node lost 0x%s; rebroadcasting", batch.seq, latest.tx_hash.hex())
            self._broadcast(latest)
            if state.last_sent == float("-inf"):
                state.last_sent = self._clock()
            if self.chain.transaction(latest.tx_hash) is None and latest.fees.covers(next_base):
                return
        stuck = self._clock() - state.last_sent >= self.config.stuck_after
        if latest.fees.covers(next_base) and not stuck:
            return
        if len(record.attempts) >= self.config.max_attempts:
            raise SubmitError(f"batch {batch.seq}: still pending after {len(record.attempts)} attempts")
        fees = latest.fees.bumped()
        if next_base is not None and not fees.covers(next_base):
            fees = fees.at_least(market_fees(self.chain, base_fee_multiplier=2)).at_least(
                Fees(max_fee=2 * next_base + (fees.priority_fee or 0), priority_fee=fees.priority_fee)
                if fees.gas_price is None
                else Fees(gas_price=2 * next_base)
            )
        log.warning("batch %d: replacing 0x%s (%s) with fees %s", batch.seq, latest.tx_hash.hex(), latest.fees, fees)
        self._sign_and_send(record, calldata, latest.nonce, fees, latest.gas)
        state.last_sent = self._clock()


#: Broadcast refusals the wait loop resolves (lowercase substrings of node messages).
_RETRYABLE_SEND_ERRORS = (
    "nonce too low",
    "nonce is too low",
    "underpriced",
    "less than block base fee",
    "fee too low",
    "feecap",
)


def _applies(receipt: Receipt, seq: int) -> bool:
    seq_topic = seq.to_bytes(32, "big")
    settled = _exchange().event_topic("BatchSettled")
    return any(
        len(entry.topics) > 1 and entry.topics[0] == settled and entry.topics[1] == seq_topic for entry in receipt.logs
    )


__all__ = [
    "ChainError",
    "Simulation",
    "SubmitResult",
    "Submitter",
    "SubmitterConfig",
    "simulate_batch",
]
