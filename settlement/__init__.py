"""Everything Python that touches the chain: artifacts, deploy, order model, submitter, indexer."""

from ._hashing import Address, checksum_address, keccak256
from .artifacts import Artifact, load_artifact
from .batch import Batch, DecodedBatchData, Fill, SkipReason, batch_from_json, batch_to_json, decode_batch
from .chain import Chain, HTTPTransport, Transport
from .deploy import DeployConfig, deploy
from .errors import (
    ArtifactError,
    ChainError,
    DeployError,
    IndexerError,
    MalformedBatchError,
    ManifestError,
    OrderError,
    OrderJSONError,
    SettlementError,
    SignatureError,
    SubmitError,
)
from .indexer import Event, Indexer, IndexerStore, IndexerUpdate, SQLiteIndexerStore
from .journal import SQLiteSubmitJournal, SubmitJournal
from .manifest import Manifest
from .oneshot import OneShotWindow
from .order import TYPE_HASH, TYPE_STRING, Domain, Order, SignedOrder, hash_order, make_domain, series_id, struct_hash
from .signing import SignatureCheck, check_signature, recover, sign_digest, sign_order, verify_order
from .submitter import Simulation, SubmitResult, Submitter, SubmitterConfig, simulate_batch

__all__ = [
    "TYPE_HASH",
    "TYPE_STRING",
    "Address",
    "Artifact",
    "ArtifactError",
    "Batch",
    "Chain",
    "ChainError",
    "DecodedBatchData",
    "DeployConfig",
    "DeployError",
    "Domain",
    "Event",
    "Fill",
    "HTTPTransport",
    "Indexer",
    "IndexerError",
    "IndexerStore",
    "IndexerUpdate",
    "MalformedBatchError",
    "Manifest",
    "ManifestError",
    "OneShotWindow",
    "Order",
    "OrderError",
    "OrderJSONError",
    "SQLiteIndexerStore",
    "SQLiteSubmitJournal",
    "SettlementError",
    "SignatureCheck",
    "SignatureError",
    "SignedOrder",
    "Simulation",
    "SkipReason",
    "SubmitError",
    "SubmitJournal",
    "SubmitResult",
    "Submitter",
    "SubmitterConfig",
    "Transport",
    "batch_from_json",
    "batch_to_json",
    "check_signature",
    "checksum_address",
    "decode_batch",
    "deploy",
    "hash_order",
    "keccak256",
    "load_artifact",
    "make_domain",
    "recover",
    "series_id",
    "sign_digest",
    "sign_order",
    "simulate_batch",
    "struct_hash",
    "verify_order",
]
