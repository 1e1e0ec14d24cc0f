"""Order intake: schema → domain → signature → signer → series → cancels/duplicates → price → collateral."""

from relayer.intake.errors import CancelRejected, IntakeError, RejectCode

__all__ = ["CancelRejected", "IntakeError", "RejectCode"]
