"""The auditor: rebuild the venue's state from the chain alone and prove or refute that every fill
was signed, collateralized and settled right (`strikebook audit`)."""

from .auditor import Auditor, ProgressSink
from .cache import AuditCache, default_cache_path, deployment_key
from .errors import AuditError
from .relayer import HTTPRelayerReport, RelayerReport, ReportedBatch, ReportedFill, cross_check
from .report import CHECKS, AuditReport, CheckResult, Evidence
from .rpc import BatchTransport, ChainReader, HTTPBatchTransport, SerialBatch
from .state import ReplayState, TradeRecord

__all__ = [
    "CHECKS",
    "AuditCache",
    "AuditError",
    "AuditReport",
    "Auditor",
    "BatchTransport",
    "ChainReader",
    "CheckResult",
    "Evidence",
    "HTTPBatchTransport",
    "HTTPRelayerReport",
    "ProgressSink",
    "RelayerReport",
    "ReplayState",
    "ReportedBatch",
    "ReportedFill",
    "SerialBatch",
    "TradeRecord",
    "cross_check",
    "default_cache_path",
    "deployment_key",
]
