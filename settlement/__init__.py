"""Everything Python that touches the chain: artifacts, deploy, order model, submitter, indexer."""

from .artifacts import Artifact, load_artifact
from .errors import ArtifactError, SettlementError

__all__ = ["Artifact", "ArtifactError", "SettlementError", "load_artifact"]
