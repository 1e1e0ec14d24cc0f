"""The one exception root of `keys/`: every error this package raises is a `KeysError`.

Each error carries a stable `code` (for API responses and scripts) and a message that says what
went wrong and what to do. No message, argument or repr ever contains key material, passwords or
API secrets: only names, addresses, paths and reasons.
"""

from __future__ import annotations


class KeysError(Exception):
    """Root of every error raised by the keys package."""

    code: str = "keys_error"


# --- keystores -------------------------------------------------------------------------------


class KeystoreError(KeysError):
    """A keystore operation failed."""

    code = "keystore_error"


class WrongPasswordError(KeystoreError):
    """The password does not decrypt the keystore (its MAC does not match)."""

    code = "wrong_password"


class UnknownKeyError(KeystoreError):
    """No key with that name exists in the keystore directory."""

    code = "unknown_key"


class DuplicateKeyError(KeystoreError):
    """A key with that name (or the same address) already exists; nothing was written."""

    code = "duplicate_key"


class InvalidKeyNameError(KeystoreError):
    """A key name that could escape the keystore directory or is otherwise unusable."""

    code = "invalid_key_name"


class InvalidPrivateKeyError(KeystoreError):
    """Imported key material is not a valid secp256k1 private key (the key itself is never echoed)."""

    code = "invalid_private_key"


class CorruptKeystoreError(KeystoreError):
    """A keystore file is not valid Web3 Secret Storage v3 JSON, or its contents disagree with each other."""

    code = "corrupt_keystore"


class InsecurePermissionsError(KeystoreError):
    """The keystore directory or a key file is readable or writable by other users."""

    code = "insecure_permissions"


class PasswordSourceError(KeysError):
    """A password could not be obtained (unset variable, unreadable file, empty password, mismatch)."""

    code = "password_unavailable"


# --- signers ---------------------------------------------------------------------------------


class SignerError(KeysError):
    """A signer could not produce a valid signature."""

    code = "signer_error"


class RemoteSignerError(SignerError):
    """The remote signer was unreachable, refused, or answered with something that does not verify."""

    code = "remote_signer_error"


class UnsupportedSigningError(SignerError):
    """The signer does not offer this kind of signature by design (e.g. blind digest signing remotely)."""

    code = "unsupported_signing"


# --- operator authentication -------------------------------------------------------------------


class AuthError(KeysError):
    """An admin request was refused. `status` is the HTTP status an API should answer with."""

    code = "auth_error"
    status: int = 401


class MissingCredentialsError(AuthError):
    """The request lacks one of the authentication headers."""

    code = "missing_credentials"


class UnknownApiKeyError(AuthError):
    """The API key id is not known (or has been revoked)."""

    code = "unknown_api_key"


class BadSignatureError(AuthError):
    """The HMAC does not match the request."""

    code = "bad_signature"


class StaleTimestampError(AuthError):
    """The request timestamp is outside the accepted window (or not a number)."""

    code = "stale_timestamp"


class SignedBeforeStartError(StaleTimestampError):
    """The request was signed before this relayer process started (its whole-second timestamp is
    earlier than the start). The previous process may have accepted it, and a restart forgets the
    nonces it saw, so it is refused for good; the client signs a new request."""

    code = "signed_before_start"


class ReplayedNonceError(AuthError):
    """The nonce was already used by this API key within the window."""

    code = "replayed_nonce"


class TotpRequiredError(AuthError):
    """The action needs a TOTP code as a second factor and none was sent."""

    code = "totp_required"


class BadTotpError(AuthError):
    """The TOTP code is wrong, outside the allowed drift, or was already used."""

    code = "bad_totp"


class TotpBeforeStartError(BadTotpError):
    """The TOTP code is right but belongs to the time step that was current when this relayer
    process started, or an earlier one. The previous process may have accepted it, and a restart
    forgets which steps were used, so TOTP actions wait for the next step: at most one step (30 s)
    after a restart."""

    code = "totp_before_start"


class ForbiddenActionError(AuthError):
    """The API key is valid but is not allowed to perform this action."""

    code = "forbidden_action"
    status = 403


class LockedOutError(AuthError):
    """Too many recent failures: the caller is locked out for a while."""

    code = "locked_out"
    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NonceStoreFullError(AuthError):
    """The replay-protection store is full; requests are refused rather than risking a replay."""

    code = "nonce_store_full"
    status = 503


class AuditLogError(KeysError):
    """The admin audit log could not be written or read."""

    code = "audit_log_error"


class AuditLogTamperedError(AuditLogError):
    """A line of the admin audit log does not chain to the one before it."""

    code = "audit_log_tampered"

    def __init__(self, message: str, line_number: int) -> None:
        super().__init__(message)
        self.line_number = line_number
