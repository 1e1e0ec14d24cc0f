"""Everything Python that touches the chain: artifacts, deploy, order model, submitter, indexer."""

from ._hashing import Address, checksum_address, keccak256
from .artifacts import Artifact, load_artifact
from .errors import (
    ArtifactError,
    ChainError,
    DeployError,
    IndexerError,
    ManifestError,
    OrderError,
    OrderJSONError,
    SettlementError,
    SignatureError,
    SubmitError,
)
from .order import TYPE_HASH, TYPE_STRING, Domain, Order, SignedOrder, hash_order, make_domain, series_id, struct_hash
from .signing import SignatureCheck, check_signature, recover, sign_digest, sign_order, verify_order

__all__ = [
    "TYPE_HASH",
    "TYPE_STRING",
    "Address",
    "Artifact",
    "ArtifactError",
    "ChainError",
    "DeployError",
    "Domain",
    "IndexerError",
    "ManifestError",
    "Order",
    "OrderError",
    "OrderJSONError",
    "SettlementError",
    "SignatureCheck",
    "SignatureError",
    "SignedOrder",
    "SubmitError",
    "check_signature",
    "checksum_address",
    "hash_order",
    "keccak256",
    "load_artifact",
    "make_domain",
    "recover",
    "series_id",
    "sign_digest",
    "sign_order",
    "struct_hash",
    "verify_order",
]
