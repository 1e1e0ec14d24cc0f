"""Checks at the audited block: the rebuilt state against the contracts' view calls, and the
vault's invariants on what the contracts hold (solvency, Σ positions = 0, locked = required,
expired series settled). All reads are `eth_call`s at one block number, batched.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass

from ..abi import contract_abi
from ..manifest import Manifest
from . import optionmath as om
from .report import CheckResult, Evidence
from .rpc import ChainReader
from .state import ReplayState

_ERC20_BALANCE_OF = bytes.fromhex("70a08231")
#: Largest accounts x series product read exhaustively (beyond it only pairs seen in events are read).
MAX_POSITION_GRID = 100_000


def _word(value: int | bytes | str) -> bytes:
    if isinstance(value, str):
        value = bytes.fromhex(value[2:])  # an address (left-padded) or a 32-byte id
    if isinstance(value, bytes):
        return value.rjust(32, b"\0")
    return value.to_bytes(32, "big")


def _int(data: bytes | None, offset: int = 0, signed: bool = False) -> int | None:
    if data is None or len(data) < offset + 32:
        return None
    return int.from_bytes(data[offset : offset + 32], "big", signed=signed)


@dataclass
class OnChain:
    """What the contracts hold at the audited block, for the keys replay knows about."""

    balances: dict[tuple[str, str], tuple[int, int]]
    positions: dict[tuple[str, str], int]
    fees: dict[str, int]
    settlement_balance: dict[str, int]
    orders: dict[tuple[str, str], tuple[int, bool]]
    one_shot_windows: dict[tuple[str, str], tuple[int, int]]  # (account, series) -> oneShotWindow
    one_shot_spent: dict[tuple[str, str], bool]  # (signer, digest) of one-shot orders -> isOneShotSpent
    min_nonce: dict[str, int]
    delegates: dict[tuple[str, str], int]
    token_balances: dict[str, int]
    settled_position: dict[str, int]
    last_seq: int


def read_onchain(state: ReplayState, reader: ChainReader, manifest: Manifest, block: int) -> OnChain:
    """Batch every view call the checks need at `block`."""
    ex = contract_abi("Exchange")
    sel = {
        name: ex.selector(name)
        for name in (
            "balanceOf",
            "positionOf",
            "accruedFees",
            "settlementBalance",
            "orderState",
            "oneShotWindow",
            "isOneShotSpent",
            "minNonce",
            "delegateExpiry",
            "lastSeq",
            "settledPosition",
        )
    }
    exchange = manifest.exchange
    assets = sorted(state.decimals)
    accounts = sorted(state.accounts() | set(state.min_nonce) | {m for m, _ in state.order_filled})
    balance_keys = [(a, t) for a in accounts for t in assets]
    position_keys = set(state.positions)
    if len(accounts) * len(state.series) <= MAX_POSITION_GRID:
        position_keys |= {(a, s) for a in accounts for s in state.series}
    position_list = sorted(position_keys)
    order_list = sorted(set(state.order_filled) | set(state.cancelled))  # one-shot orders have no orderState
    # the window lives in the position slot: read it wherever a position or a window was seen
    window_list = sorted(set(state.one_shot_windows) | set(state.positions))
    one_shot_list = sorted(state.one_shot_orders)
    delegate_list = sorted(state.delegates)

    calls: list[tuple[str, bytes]] = []
    calls += [(exchange, sel["balanceOf"] + _word(a) + _word(t)) for a, t in balance_keys]
    calls += [(exchange, sel["positionOf"] + _word(a) + _word(s)) for a, s in position_list]
    calls += [(exchange, sel["accruedFees"] + _word(t)) for t in assets]
    calls += [(exchange, sel["settlementBalance"] + _word(t)) for t in assets]
    calls += [(exchange, sel["orderState"] + _word(m) + _word(h)) for m, h in order_list]
    calls += [(exchange, sel["oneShotWindow"] + _word(a) + _word(s)) for a, s in window_list]
    calls += [
        (exchange, sel["isOneShotSpent"] + _word(m) + _word(r.series) + _word(r.seq))
        for m, r in ((m, state.one_shot_orders[(m, h)]) for m, h in one_shot_list)
    ]
    calls += [(exchange, sel["minNonce"] + _word(a)) for a in accounts]
    calls += [(exchange, sel["delegateExpiry"] + _word(m) + _word(k)) for m, k in delegate_list]
    calls += [(t, _ERC20_BALANCE_OF + _word(exchange)) for t in assets]
    series_list = sorted(state.series)
    calls += [(exchange, sel["settledPosition"] + _word(s)) for s in series_list]
    calls.append((exchange, sel["lastSeq"]))
    results = iter(reader.calls(calls, block))

    def num(signed: bool = False) -> int:
        value = _int(next(results), signed=signed)
        return -1 if value is None else value

    balances = {}
    for key in balance_keys:
        raw = next(results)
        balances[key] = (_int(raw) or 0, _int(raw, 32) or 0) if raw else (-1, -1)
    positions = {key: num(signed=True) for key in position_list}
    fees = {t: num() for t in assets}
    settlement = {t: num(signed=True) for t in assets}
    orders = {}
    for key in order_list:
        raw = next(results)
        orders[key] = (_int(raw) or 0, bool(_int(raw, 32))) if raw else (-1, False)
    windows = {}
    for key in window_list:
        raw = next(results)
        windows[key] = (_int(raw) or 0, _int(raw, 32) or 0) if raw else (-1, -1)
    one_shot_spent = {key: num() == 1 for key in one_shot_list}
    min_nonce = {a: num() for a in accounts}
    delegates = {key: num() for key in delegate_list}
    tokens = {t: num() for t in assets}
    settled = {s: num(signed=True) for s in series_list}
    last_seq = num()
    return OnChain(
        balances,
        positions,
        fees,
        settlement,
        orders,
        windows,
        one_shot_spent,
        min_nonce,
        delegates,
        tokens,
        settled,
        last_seq,
    )


def storage_matches(state: ReplayState, chain: OnChain, block: int) -> CheckResult:
    """rebuilt_state_matches_storage."""
    check = CheckResult("rebuilt_state_matches_storage")

    def compare(what: str, account: str | None, expected: object, found: object) -> None:
        check.ok()
        if expected != found:
            check.fail(Evidence(f"{what} differs from the contract", block, None, account, str(expected), str(found)))

    for (account, asset), (free, locked) in chain.balances.items():
        rebuilt = state.balances.get((account, asset), [0, 0])
        compare(f"balance (free, locked) of {asset}", account, (rebuilt[0], rebuilt[1]), (free, locked))
    for (account, series), position in chain.positions.items():
        compare(f"position in series {series}", account, state.positions.get((account, series), 0), position)
    for asset, fees in chain.fees.items():
        compare(f"accrued fees in {asset}", None, state.fees.get(asset, 0), fees)
    for asset, balance in chain.settlement_balance.items():
        compare(f"settlement balance in {asset}", None, state.settlement_balance.get(asset, 0), balance)
    for (maker, digest), (filled, cancelled) in chain.orders.items():
        rebuilt_state = (state.order_filled.get((maker, digest), 0), (maker, digest) in state.cancelled)
        compare(f"order {digest} (filled, cancelled)", maker, rebuilt_state, (filled, cancelled))
    for (account, series), window in chain.one_shot_windows.items():
        rebuilt_window = state.one_shot_windows.get((account, series), (0, 0))
        compare(f"one-shot window (base, bits) in series {series}", account, rebuilt_window, window)
    for (signer, digest), spent in chain.one_shot_spent.items():
        compare(f"isOneShotSpent of filled one-shot order {digest}", signer, True, spent)
    for account, nonce in chain.min_nonce.items():
        compare("minNonce", account, state.min_nonce.get(account, 0), nonce)
    for (maker, key), expiry in chain.delegates.items():
        compare(f"delegate expiry of key {key}", maker, state.delegates.get((maker, key), 0), expiry)
    for series, settled in chain.settled_position.items():
        compare(f"settled position of series {series}", None, state.settled_position.get(series, 0), settled)
    compare("lastSeq", None, state.last_seq, chain.last_seq)
    return check


def solvency(state: ReplayState, chain: OnChain, block: int) -> CheckResult:
    """vault_solvency: the replay-time part (no negative balance, fees collected) plus the token balances."""
    check = copy.deepcopy(state.checks["vault_solvency"])
    free: dict[str, int] = defaultdict(int)
    locked: dict[str, int] = defaultdict(int)
    for (_, asset), (f, lk) in chain.balances.items():
        free[asset] += f
        locked[asset] += lk
    for asset, held in chain.token_balances.items():
        check.ok()
        owed = free[asset] + locked[asset] + chain.fees[asset] + chain.settlement_balance[asset]
        if held != owed:
            check.fail(
                Evidence(
                    f"token {asset}: vault balance != Σ free + Σ locked + fees + settlement balance "
                    f"({free[asset]} + {locked[asset]} + {chain.fees[asset]} + {chain.settlement_balance[asset]})",
                    block,
                    None,
                    None,
                    str(owed),
                    str(held),
                )
            )
    return check


def positions_net_zero(state: ReplayState, chain: OnChain, block: int) -> CheckResult:
    check = CheckResult("positions_net_zero")
    sums: dict[str, int] = defaultdict(int, chain.settled_position)
    for (_, series), position in chain.positions.items():
        sums[series] += position
    for series in state.series:
        check.ok()
        if sums[series] != 0:
            check.fail(
                Evidence(
                    f"series {series}: open + settled positions do not net to zero",
                    block,
                    None,
                    None,
                    "0",
                    str(sums[series]),
                )
            )
    return check


def locked_equals_required(state: ReplayState, chain: OnChain, block: int) -> CheckResult:
    check = CheckResult("locked_equals_required")
    required: dict[tuple[str, str], int] = defaultdict(int)
    for (account, series_id), position in chain.positions.items():
        s = state.series.get(series_id)
        if s is not None:
            required[(account, s.collateral)] += om.required(s.is_call, s.strike, s.unit, position)
    for (account, asset), (_, locked) in chain.balances.items():
        check.ok()
        want = required.get((account, asset), 0)
        if locked != want:
            check.fail(
                Evidence(f"locked {asset} != Σ required(positions)", block, None, account, str(want), str(locked))
            )
    return check


def expiry_settled(state: ReplayState, chain: OnChain, block: int, now: int) -> CheckResult:
    """expiry_settlement: the replayed payoffs (replay-time part) plus: nothing left unsettled."""
    check = copy.deepcopy(state.checks["expiry_settlement"])
    for series_id, s in state.series.items():
        if s.expiry > now or (s.underlying, s.expiry) not in state.final_prices:
            continue
        for (account, sid), position in chain.positions.items():
            if sid != series_id:
                continue
            check.ok()
            if position != 0:
                check.fail(
                    Evidence(
                        f"series {series_id} expired with a final price but this position is unsettled",
                        block,
                        None,
                        account,
                        "0",
                        str(position),
                    )
                )
    return check
