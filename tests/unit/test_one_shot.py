"""The relayer's mirror of the exchange's one-shot spend window, against a brute-force model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from relayer.one_shot import SpendTracker, Window, well_formed_nonce
from settlement.order import ONE_SHOT_FLAG, ONE_SHOT_SEQ_MASK, ONE_SHOT_WINDOW, one_shot_nonce


def _model_spent(spent: set[int], seq: int) -> bool:
    """docs/PROTOCOL.md in one line: spent if spent explicitly, or 64 or more below the highest spend."""
    return seq in spent or (bool(spent) and seq <= max(spent) - ONE_SHOT_WINDOW)


def test_a_fresh_window_spends_nothing() -> None:
    assert not any(Window().spent(seq) for seq in (0, 1, 63, 64, 2**64 - 1))


def test_spending_inside_the_window_sets_one_bit() -> None:
    w = Window().spend(5).spend(63)
    assert (w.base, w.bits) == (0, 1 << 5 | 1 << 63)
    assert w.spent(5) and w.spent(63) and not w.spent(4) and not w.spent(64)


def test_spending_past_the_window_slides_it_and_spends_everything_below_the_new_base() -> None:
    w = Window().spend(10).spend(100)
    assert w.base == 100 - 63
    assert w.spent(10) and w.spent(36) and not w.spent(37) and w.spent(100) and not w.spent(99)
    far = w.spend(10_000)
    assert (far.base, far.bits) == (10_000 - 63, 1 << 63)
    assert far.spent(100) and not far.spent(10_000 - 1)


def test_spending_below_the_base_changes_nothing() -> None:
    w = Window().spend(1_000)
    assert w.spend(3) == w


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=40), st.integers(min_value=0, max_value=500))
def test_the_window_answers_like_the_model(spends: list[int], probe: int) -> None:
    w = Window()
    done: set[int] = set()
    for seq in spends:
        w = w.spend(seq)
        done.add(seq)
        assert w.spent(seq)
        assert 0 <= w.bits < 2**ONE_SHOT_WINDOW
    assert w.spent(probe) == _model_spent(done, probe)


def test_only_the_flag_and_the_low_64_bits_make_a_well_formed_one_shot_nonce() -> None:
    assert well_formed_nonce(one_shot_nonce(0)) and well_formed_nonce(one_shot_nonce(ONE_SHOT_SEQ_MASK))
    assert not well_formed_nonce(ONE_SHOT_FLAG | 1 << 64)
    assert not well_formed_nonce(ONE_SHOT_FLAG | 1 << 254 | 7)


def test_the_tracker_keeps_one_window_per_account_and_series() -> None:
    tracker = SpendTracker()
    alice, bob, s1, s2 = b"\x01" * 20, b"\x02" * 20, b"\x0a" * 32, b"\x0b" * 32
    tracker.spend(alice, s1, 1_000)
    assert tracker.spent(alice, s1, 1_000) and tracker.spent(alice, s1, 900)
    assert not tracker.spent(alice, s1, 999) and not tracker.spent(alice, s2, 1_000)
    assert not tracker.spent(bob, s1, 1_000)
    assert len(tracker) == 1
