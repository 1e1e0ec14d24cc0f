"""The auditor's relayer reader waits out the relayer's request limit instead of failing the audit."""

from __future__ import annotations

import pytest

from settlement.audit.errors import AuditError
from settlement.audit.relayer import HTTPRelayerReport
from tests.audit.relayer_server import serve_relayer_report

BATCH = {"seq": "1", "status": "settled", "txHash": "0x" + "ab" * 32, "blockNumber": "7", "filled": "0", "skipped": "0"}


def test_a_rate_limited_relayer_is_asked_again_after_its_retry_after() -> None:
    throttle = [3]
    with serve_relayer_report([], {1: BATCH}, throttle) as url:
        batch = HTTPRelayerReport(url).batch(1)
    assert throttle == [0]  # three 429s were answered, then the real reply
    assert batch is not None and batch.seq == 1 and batch.status == "settled"


def test_a_relayer_that_stays_rate_limited_is_a_clear_error() -> None:
    throttle = [100]
    with serve_relayer_report([], {1: BATCH}, throttle) as url, pytest.raises(AuditError, match="rate limited"):
        HTTPRelayerReport(url, rate_limit_retries=2).batch(1)
    assert throttle == [97]  # one try and two retries, no more
