"""Admin authentication decisions (pure, injected clock): every refusal path, TOTP, lockout, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from keys.admin_actions import TOTP_ACTIONS, AdminAction
from keys.admin_client import AdminCredentials
from keys.api_keys import generate_api_key
from keys.audit import verify_audit_log
from keys.auth import AdminRequest, NonceStore
from keys.errors import (
    AuthError,
    BadSignatureError,
    BadTotpError,
    ForbiddenActionError,
    LockedOutError,
    MissingCredentialsError,
    NonceStoreFullError,
    ReplayedNonceError,
    SignedBeforeStartError,
    StaleTimestampError,
    TotpBeforeStartError,
    TotpRequiredError,
    UnknownApiKeyError,
)
from keys.request_signing import HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP

from .auth_support import START, UP_FOR_S, AuthRig, make_rig

ALL_ACTIONS = list(AdminAction)


def _audit_lines(rig: AuthRig) -> list[dict[str, object]]:
    return [json.loads(line) for line in rig.audit.path.read_text().splitlines()]


def _valid(rig: AuthRig, action: AdminAction, **kw: object) -> AdminRequest:
    totp = rig.totp() if action.requires_totp else None
    return rig.request(totp=totp, **kw)  # type: ignore[arg-type]


def test_the_issue_actions_and_which_need_totp() -> None:
    assert {a.value for a in AdminAction} == {
        "pause", "unpause", "list_series", "post_oracle_report", "rotate_operator_key", "drain_maker_orders",
    }  # fmt: skip
    assert {a for a in AdminAction if a.requires_totp} == TOTP_ACTIONS == {
        AdminAction.UNPAUSE, AdminAction.LIST_SERIES, AdminAction.ROTATE_OPERATOR_KEY, AdminAction.DRAIN_MAKER_ORDERS,
    }  # fmt: skip


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_a_correctly_signed_request_is_allowed_and_audited(tmp_path: Path, action: AdminAction) -> None:
    rig = make_rig(tmp_path)

    principal = rig.authenticator.authenticate(_valid(rig, action), action)

    assert (principal.key_id, principal.action) == (rig.key.key_id, action)
    [line] = _audit_lines(rig)
    assert line["decision"] == "allowed" and line["action"] == action.value and line["key_id"] == rig.key.key_id


def _without_header(name: str) -> Callable[[AuthRig, AdminAction], AdminRequest]:
    def make(rig: AuthRig, action: AdminAction) -> AdminRequest:
        req = _valid(rig, action)
        return replace(req, headers={k: v for k, v in req.headers.items() if k != name})

    return make


def _tampered_body(rig: AuthRig, action: AdminAction) -> AdminRequest:
    return replace(_valid(rig, action), body=b'{"reason":"something else"}')


def _other_path(rig: AuthRig, action: AdminAction) -> AdminRequest:
    return replace(_valid(rig, action), path="/v1/admin/unpause")


def _wrong_secret(rig: AuthRig, action: AdminAction) -> AdminRequest:
    forged = AdminCredentials(rig.key.key_id, b"\x00" * 32)
    return rig.request(creds=forged, totp=rig.totp() if action.requires_totp else None)


def _unknown_key(rig: AuthRig, action: AdminAction) -> AdminRequest:
    return rig.request(creds=AdminCredentials("sbk_unknown", rig.key.secret))


def _stale(rig: AuthRig, action: AdminAction) -> AdminRequest:
    return rig.request(sign_time=rig.clock() - 31, totp=rig.totp() if action.requires_totp else None)


def _future(rig: AuthRig, action: AdminAction) -> AdminRequest:
    return rig.request(sign_time=rig.clock() + 31, totp=rig.totp() if action.requires_totp else None)


REFUSALS: dict[str, tuple[Callable[[AuthRig, AdminAction], AdminRequest], type[AuthError]]] = {
    "no api key": (_without_header(HEADER_KEY), MissingCredentialsError),
    "no signature": (_without_header(HEADER_SIGNATURE), MissingCredentialsError),
    "no timestamp": (_without_header(HEADER_TIMESTAMP), MissingCredentialsError),
    "no nonce": (_without_header(HEADER_NONCE), MissingCredentialsError),
    "unknown api key": (_unknown_key, UnknownApiKeyError),
    "hmac by another secret": (_wrong_secret, BadSignatureError),
    "body changed after signing": (_tampered_body, BadSignatureError),
    "path changed after signing": (_other_path, BadSignatureError),
    "stale timestamp": (_stale, StaleTimestampError),
    "timestamp from the future": (_future, StaleTimestampError),
}


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_action_is_refused_without_valid_credentials(tmp_path: Path, action: AdminAction, case: str) -> None:
    rig = make_rig(tmp_path)
    make_request, error = REFUSALS[case]

    with pytest.raises(error):
        rig.authenticator.authenticate(make_request(rig, action), action)

    [line] = _audit_lines(rig)
    assert line["decision"] == "denied" and line["code"] == error.code and line["action"] == action.value


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_every_action_refuses_a_replayed_request(tmp_path: Path, action: AdminAction) -> None:
    rig = make_rig(tmp_path)
    request = _valid(rig, action)
    rig.authenticator.authenticate(request, action)
    rig.clock.advance(5)

    with pytest.raises(ReplayedNonceError):
        rig.authenticator.authenticate(request, action)
    # even with a fresh TOTP code the nonce alone stops the replay
    fresh_totp = replace(request, headers={**request.headers, "X-Strikebook-Totp": rig.totp(30)})
    with pytest.raises(ReplayedNonceError):
        rig.authenticator.authenticate(fresh_totp, action)


@pytest.mark.parametrize("action", sorted(TOTP_ACTIONS))
def test_privileged_actions_are_refused_without_a_totp_code(tmp_path: Path, action: AdminAction) -> None:
    rig = make_rig(tmp_path)

    with pytest.raises(TotpRequiredError):
        rig.authenticator.authenticate(rig.request(), action)


@pytest.mark.parametrize("action", sorted(TOTP_ACTIONS))
@pytest.mark.parametrize("offset", ["wrong digits", "two steps old", "two steps ahead"])
def test_privileged_actions_are_refused_with_a_wrong_totp_code(
    tmp_path: Path, action: AdminAction, offset: str
) -> None:
    rig = make_rig(tmp_path)
    good = rig.totp()
    code = {
        "wrong digits": f"{(int(good) + 1) % 1_000_000:06d}",
        "two steps old": rig.totp(-60),
        "two steps ahead": rig.totp(60),
    }[offset]

    with pytest.raises(BadTotpError):
        rig.authenticator.authenticate(rig.request(totp=code), action)


def test_a_totp_code_cannot_be_used_twice(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    code = rig.totp()
    rig.authenticator.authenticate(rig.request(totp=code), AdminAction.UNPAUSE)

    with pytest.raises(BadTotpError, match="already used"):
        rig.authenticator.authenticate(rig.request(totp=code), AdminAction.DRAIN_MAKER_ORDERS)
    rig.clock.advance(30)
    rig.authenticator.authenticate(rig.request(totp=rig.totp()), AdminAction.DRAIN_MAKER_ORDERS)


def test_a_key_without_totp_cannot_perform_privileged_actions(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    bare = generate_api_key("oracle job", [AdminAction.POST_ORACLE_REPORT, AdminAction.UNPAUSE], with_totp=False)
    rig.keys.add(bare)

    rig.authenticator.authenticate(rig.request(creds=AdminCredentials.for_key(bare)), AdminAction.POST_ORACLE_REPORT)
    with pytest.raises(TotpRequiredError, match="no TOTP enrolled"):
        rig.authenticator.authenticate(rig.request(creds=AdminCredentials.for_key(bare)), AdminAction.UNPAUSE)


def test_a_key_is_limited_to_its_actions(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, actions=frozenset({AdminAction.PAUSE}))

    rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)
    with pytest.raises(ForbiddenActionError):
        rig.authenticator.authenticate(rig.request(totp=rig.totp()), AdminAction.ROTATE_OPERATOR_KEY)


def test_a_route_without_an_action_is_refused(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)

    with pytest.raises(ForbiddenActionError, match="no admin action"):
        rig.authenticator.authenticate(rig.request(), None)


def test_a_revoked_key_stops_working_at_once(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)

    rig.keys.revoke(rig.key.key_id)

    with pytest.raises(UnknownApiKeyError):
        rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)


def test_the_timestamp_window_edge_is_inclusive(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)

    rig.authenticator.authenticate(rig.request(sign_time=rig.clock() - 30), AdminAction.PAUSE)
    rig.authenticator.authenticate(rig.request(sign_time=rig.clock() + 30), AdminAction.PAUSE)


# --- lockout ---------------------------------------------------------------------------------


def test_repeated_failures_lock_the_caller_out_then_the_lock_expires(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    forged = AdminCredentials(rig.key.key_id, b"\x01" * 32)
    for _ in range(5):
        with pytest.raises(BadSignatureError):
            rig.authenticator.authenticate(rig.request(creds=forged), AdminAction.PAUSE)

    with pytest.raises(LockedOutError) as excinfo:
        rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)  # even a valid request
    assert excinfo.value.retry_after == pytest.approx(900)

    rig.clock.advance(899)
    with pytest.raises(LockedOutError):
        rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)
    rig.clock.advance(2)
    rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)


def test_failures_spread_beyond_the_window_do_not_lock(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    forged = AdminCredentials(rig.key.key_id, b"\x01" * 32)
    for _ in range(8):
        with pytest.raises(BadSignatureError):
            rig.authenticator.authenticate(rig.request(creds=forged), AdminAction.PAUSE)
        rig.clock.advance(76)  # at most 4 failures in any 300 s window

    rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)


def test_a_success_resets_the_failure_count(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    forged = AdminCredentials(rig.key.key_id, b"\x01" * 32)
    for _ in range(2):
        for _ in range(4):
            with pytest.raises(BadSignatureError):
                rig.authenticator.authenticate(rig.request(creds=forged), AdminAction.PAUSE)
        rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)


def test_strangers_mangling_requests_do_not_lock_out_the_real_operator(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    captured = rig.request()
    rig.authenticator.authenticate(captured, AdminAction.PAUSE)
    for _ in range(10):  # an attacker replays captured traffic and guesses signatures from elsewhere
        with pytest.raises((ReplayedNonceError, LockedOutError)):
            rig.authenticator.authenticate(replace(captured, remote="203.0.113.9"), AdminAction.PAUSE)

    rig.authenticator.authenticate(rig.request(remote="10.0.0.1"), AdminAction.PAUSE)
    with pytest.raises(LockedOutError):
        rig.authenticator.authenticate(rig.request(remote="203.0.113.9"), AdminAction.PAUSE)


def test_totp_guessing_with_a_stolen_secret_locks_the_key_from_every_address(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    for i in range(5):
        with pytest.raises(BadTotpError):
            rig.authenticator.authenticate(
                rig.request(totp=f"{i:06d}", remote=f"198.51.100.{i}"), AdminAction.ROTATE_OPERATOR_KEY
            )

    with pytest.raises(LockedOutError):
        rig.authenticator.authenticate(rig.request(totp=rig.totp(), remote="10.9.9.9"), AdminAction.ROTATE_OPERATOR_KEY)


def test_every_decision_lands_in_a_verifiable_audit_log_without_secrets(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    allowed = rig.request(totp=rig.totp())
    rig.authenticator.authenticate(allowed, AdminAction.UNPAUSE)
    with pytest.raises(BadTotpError):
        rig.authenticator.authenticate(rig.request(totp="000000"), AdminAction.UNPAUSE)

    lines = _audit_lines(rig)
    text = rig.audit.path.read_text()

    assert verify_audit_log(rig.audit.path).entries == 2
    assert [(x["decision"], x["code"]) for x in lines] == [("allowed", "ok"), ("denied", "bad_totp")]
    assert allowed.headers[HEADER_SIGNATURE] not in text
    assert rig.key.secret.hex() not in text
    assert rig.totp() not in text


def test_nonce_store_refuses_rather_than_forgets_when_full() -> None:
    store = NonceStore(max_entries=2)

    assert store.remember("k", "a" * 16, expires_at=100, now=0)
    assert store.remember("k", "b" * 16, expires_at=100, now=0)
    with pytest.raises(NonceStoreFullError):
        store.remember("k", "c" * 16, expires_at=100, now=0)
    assert not store.remember("k", "a" * 16, expires_at=100, now=50)
    assert store.remember("k", "c" * 16, expires_at=300, now=101)  # expired entries make room
    assert len(store) == 1


def test_credentials_and_keys_never_show_secrets_in_reprs(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)

    for text in (repr(rig.key), repr(rig.creds), str(rig.key)):
        assert rig.key.secret.hex() not in text
        assert str(rig.key.totp_secret) not in text


# --- restarts: nothing accepted before a restart is accepted again after it --------------------


def test_the_authenticator_records_its_start_from_the_injected_clock(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    assert rig.authenticator.started_at == START - UP_FOR_S

    rig.clock.advance(12.5)
    rig.restart()

    assert rig.authenticator.started_at == START + 12.5


def test_a_request_signed_before_the_start_is_refused_even_with_a_fresh_nonce(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.clock.advance(10)
    rig.restart()
    # within the timestamp window, correctly signed, a nonce this process has never seen
    early = rig.request(sign_time=rig.clock() - 1)

    with pytest.raises(SignedBeforeStartError, match="sign a new request") as excinfo:
        rig.authenticator.authenticate(early, AdminAction.PAUSE)

    assert (excinfo.value.code, excinfo.value.status) == ("signed_before_start", 401)
    assert len(rig.authenticator.nonces) == 0  # refused before its nonce was even recorded
    assert _audit_lines(rig)[-1]["code"] == "signed_before_start"
    principal = rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)  # a fresh one is fine
    assert principal.key_id == rig.key.key_id


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_a_request_captured_before_a_restart_cannot_be_replayed_after_it(tmp_path: Path, action: AdminAction) -> None:
    rig = make_rig(tmp_path)
    captured = _valid(rig, action)
    rig.authenticator.authenticate(captured, action)
    rig.clock.advance(3)
    before = rig.restart()
    with pytest.raises(ReplayedNonceError):  # the old process remembered the nonce...
        before.authenticate(captured, action)

    with pytest.raises(SignedBeforeStartError):  # ...the new one never saw it, and still refuses
        rig.authenticator.authenticate(captured, action)

    assert abs(int(captured.headers[HEADER_TIMESTAMP]) - rig.clock()) <= rig.authenticator.window_s
    rig.clock.advance(30)  # the next TOTP step: a fresh request goes through
    assert rig.authenticator.authenticate(_valid(rig, action), action).action == action


def test_whole_second_timestamps_are_refused_for_the_rest_of_the_start_second(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.clock.advance(0.5)
    rig.restart()
    rig.clock.advance(0.3)  # signed after the start, but its timestamp says START, before it

    with pytest.raises(SignedBeforeStartError):
        rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)
    rig.clock.advance(0.2)  # START + 1: provably after the start
    rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)


def test_a_totp_code_used_just_before_a_restart_cannot_be_used_after_it(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    code = rig.totp()
    rig.authenticator.authenticate(rig.request(totp=code), AdminAction.UNPAUSE)
    rig.clock.advance(10)  # same TOTP step
    rig.restart()

    with pytest.raises(TotpBeforeStartError, match="at most one 30 s step after a restart") as excinfo:
        rig.authenticator.authenticate(rig.request(totp=code), AdminAction.UNPAUSE)

    assert (excinfo.value.code, excinfo.value.status) == ("totp_before_start", 401)
    assert _audit_lines(rig)[-1]["code"] == "totp_before_start"


def test_totp_actions_wait_at_most_one_step_after_a_restart(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.restart()  # at START, the first second of a step: the longest possible wait
    assert rig.authenticator.started_at % 30 == 0

    for _ in range(3):  # the start step's code stays refused until the step ends
        with pytest.raises(TotpBeforeStartError):
            rig.authenticator.authenticate(rig.request(totp=rig.totp()), AdminAction.ROTATE_OPERATOR_KEY)
        rig.clock.advance(9.5)
    assert rig.clock() == START + 28.5
    with pytest.raises(TotpBeforeStartError):  # a code from before the start is refused as well
        rig.authenticator.authenticate(rig.request(totp=rig.totp(-30)), AdminAction.ROTATE_OPERATOR_KEY)

    rig.clock.advance(1.5)  # START + 30: the next step
    rig.authenticator.authenticate(rig.request(totp=rig.totp()), AdminAction.ROTATE_OPERATOR_KEY)


def test_the_next_steps_code_is_accepted_within_the_drift_right_after_a_restart(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.clock.advance(20)
    rig.restart()
    next_code = rig.totp(30)  # an authenticator app running ahead shows the next step's code

    rig.authenticator.authenticate(rig.request(totp=next_code), AdminAction.UNPAUSE)

    rig.clock.advance(10)  # in that step now: still usable once only
    with pytest.raises(BadTotpError, match="already used"):
        rig.authenticator.authenticate(rig.request(totp=next_code), AdminAction.UNPAUSE)


def test_replays_signed_before_the_start_lock_only_the_address_not_the_key(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    captured = rig.request()
    rig.authenticator.authenticate(captured, AdminAction.PAUSE)
    rig.clock.advance(2)
    rig.restart()
    for _ in range(10):  # a stranger replays captured traffic into the restarted relayer
        with pytest.raises((SignedBeforeStartError, LockedOutError)):
            rig.authenticator.authenticate(replace(captured, remote="203.0.113.9"), AdminAction.PAUSE)

    with pytest.raises(LockedOutError):
        rig.authenticator.authenticate(rig.request(remote="203.0.113.9"), AdminAction.PAUSE)
    rig.authenticator.authenticate(rig.request(remote="10.0.0.1"), AdminAction.PAUSE)


def test_totp_codes_from_before_the_start_count_against_the_key_like_any_totp_failure(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.restart()
    for i in range(5):  # only a holder of the API secret can send these: they lock the key
        with pytest.raises(TotpBeforeStartError):
            rig.authenticator.authenticate(
                rig.request(totp=rig.totp(), remote=f"198.51.100.{i}"), AdminAction.ROTATE_OPERATOR_KEY
            )

    rig.clock.advance(30)
    with pytest.raises(LockedOutError):
        rig.authenticator.authenticate(rig.request(totp=rig.totp(), remote="10.9.9.9"), AdminAction.ROTATE_OPERATOR_KEY)


def test_lockout_counters_start_empty_after_a_restart(tmp_path: Path) -> None:
    """The documented limit: a restart forgets lockouts (restarting takes access to the host)."""
    rig = make_rig(tmp_path)
    forged = AdminCredentials(rig.key.key_id, b"\x01" * 32)
    for _ in range(5):
        with pytest.raises(BadSignatureError):
            rig.authenticator.authenticate(rig.request(creds=forged), AdminAction.PAUSE)
    with pytest.raises(LockedOutError):
        rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)

    rig.clock.advance(1)
    rig.restart()

    rig.authenticator.authenticate(rig.request(), AdminAction.PAUSE)
