"""The one-shot spend window against a naive model of the protocol text: a set of spent numbers,
where spending a number also spends everything 64 or more below the highest number spent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.errors import SettlementError
from settlement.oneshot import OneShotWindow, pack_position_slot, unpack_position_slot
from settlement.order import ONE_SHOT_WINDOW

U64_MAX = 2**64 - 1


class NaiveWindow:
    """docs/PROTOCOL.md, "One-shot orders", read literally over an explicit set."""

    def __init__(self) -> None:
        self.spent: set[int] = set()

    def is_spent(self, seq: int) -> bool:
        top = max(self.spent, default=None)
        return seq in self.spent or (top is not None and seq <= top - ONE_SHOT_WINDOW)

    def spend(self, seq: int) -> None:
        self.spent.add(seq)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, int]]:
    """Spends and probes clustered around a start (so windows overlap, slide by a little and by a
    lot), anywhere in uint64 including its top."""
    start = draw(st.sampled_from([0, 1, 63, 64, 10**12, U64_MAX - 200]) | st.integers(0, U64_MAX - 200))
    near = st.integers(0, 200).map(lambda d: start + d)
    far = st.integers(0, U64_MAX)
    seq = st.one_of(near, near, far, st.just(U64_MAX))
    return draw(st.lists(st.tuples(st.sampled_from(["spend", "probe"]), seq), max_size=60))


@given(operations(), st.lists(st.integers(0, 260), min_size=1, max_size=10))
@settings(max_examples=500)
def test_the_window_agrees_with_the_naive_model(ops: list[tuple[str, int]], probes: list[int]) -> None:
    window, naive = OneShotWindow(), NaiveWindow()
    for op, seq in ops:
        assert window.is_spent(seq) == naive.is_spent(seq), (op, seq, window)
        if op == "spend":
            window = window.spend(seq)
            naive.spend(seq)
            assert window.is_spent(seq)
        assert 0 <= window.base <= U64_MAX and 0 <= window.bits < 2**64
    top = max((s for op, s in ops if op == "spend"), default=0)
    for delta in probes:
        for seq in (top - delta, top + delta):
            if 0 <= seq <= U64_MAX:
                assert window.is_spent(seq) == naive.is_spent(seq), (seq, window)


def test_a_fresh_window_has_nothing_spent() -> None:
    window = OneShotWindow()
    assert not any(window.is_spent(s) for s in (0, 1, 63, 64, U64_MAX))


def test_spending_inside_the_window_sets_one_bit_and_keeps_the_base() -> None:
    window = OneShotWindow().spend(5).spend(63)
    assert window == OneShotWindow(0, (1 << 5) | (1 << 63))
    assert not window.is_spent(4) and not window.is_spent(64)


def test_spending_past_the_window_slides_it_and_spends_everything_below_the_new_base() -> None:
    window = OneShotWindow().spend(5).spend(70).spend(10)
    # 70 >= 0 + 64: base = 70 - 63 = 7, bit 5 (seq 5) shifts out, seq 10 is bit 3 after the slide
    assert window == OneShotWindow(7, (1 << 63) | (1 << 3))
    assert window.is_spent(6) and window.is_spent(0)  # below the base
    assert not window.is_spent(8) and not window.is_spent(71)


def test_a_slide_of_64_or_more_clears_every_bit() -> None:
    window = OneShotWindow().spend(1).spend(2).spend(1000)
    assert window == OneShotWindow(937, 1 << 63)


def test_spending_a_spent_number_changes_nothing() -> None:
    window = OneShotWindow().spend(100)
    assert window.spend(100) == window
    assert window.spend(3) == window  # below the base


def test_the_top_of_uint64_is_reachable() -> None:
    window = OneShotWindow().spend(U64_MAX)
    assert window == OneShotWindow(U64_MAX - 63, 1 << 63)
    assert window.is_spent(U64_MAX - 64) and not window.is_spent(U64_MAX - 1)


@pytest.mark.parametrize("seq", [-1, 2**64, 1.5])
def test_numbers_outside_uint64_are_refused(seq: object) -> None:
    with pytest.raises(SettlementError, match="uint64"):
        OneShotWindow().spend(seq)  # type: ignore[arg-type]
    with pytest.raises(SettlementError, match="uint64"):
        OneShotWindow().is_spent(seq)  # type: ignore[arg-type]


@given(
    st.integers(-(2**127), 2**127 - 1),
    st.integers(0, U64_MAX),
    st.integers(0, U64_MAX),
)
def test_the_position_slot_packs_position_base_and_bits(position: int, base: int, bits: int) -> None:
    window = OneShotWindow(base, bits)

    word = pack_position_slot(position, window)

    assert 0 <= word < 2**256
    assert unpack_position_slot(word) == (position, window)
    assert word >> 128 & U64_MAX == base and word >> 192 == bits


def test_a_negative_position_is_twos_complement_in_the_low_128_bits() -> None:
    assert pack_position_slot(-1, OneShotWindow(1, 2)) == (2**128 - 1) | 1 << 128 | 2 << 192
