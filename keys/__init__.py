"""Encrypted keystores, signers and operator authentication.

Signers (what the submitter, oracle poster and SDK take): `Signer` (the protocol),
`LocalSigner`, `KeystoreSigner`, `RemoteSigner`. Keystores: `Keystore`, `KeyRole`, the password
sources. Admin authentication: `Authenticator` (pure), `AdminAction`, API keys, the audit log, and
on the client side `AdminCredentials` + `sign_admin_request`. The aiohttp middleware lives in
`keys.aiohttp_auth` so that importing `keys` does not pull in a web framework.
"""

from .admin_actions import TOTP_ACTIONS, AdminAction
from .admin_client import AdminCredentials, sign_admin_request
from .api_keys import ApiKey, ApiKeyFile, ApiKeyStore, MemoryApiKeyStore, generate_api_key
from .audit import AuditLog, AuditSummary, verify_audit_log
from .auth import AdminRequest, Authenticator, Lockout, NonceStore, Principal
from .errors import AuthError, KeysError, KeystoreError, SignerError
from .keystore import DEFAULT_SCRYPT_N, INSECURE_TEST_SCRYPT_N, KeyInfo, KeyRole, Keystore, default_keystore_dir
from .keystore_signer import KeystoreSigner
from .passwords import EnvPassword, FilePassword, PasswordSource, PromptPassword, StaticPassword
from .remote_signer import RemoteSigner
from .signer import LocalSigner, Signer
from .totp import Totp, new_totp_secret
from .verify import check_signature_shape, recover_digest, recover_transaction, recover_typed_data

__all__ = [
    "DEFAULT_SCRYPT_N",
    "INSECURE_TEST_SCRYPT_N",
    "TOTP_ACTIONS",
    "AdminAction",
    "AdminCredentials",
    "AdminRequest",
    "ApiKey",
    "ApiKeyFile",
    "ApiKeyStore",
    "AuditLog",
    "AuditSummary",
    "AuthError",
    "Authenticator",
    "EnvPassword",
    "FilePassword",
    "KeyInfo",
    "KeyRole",
    "KeysError",
    "Keystore",
    "KeystoreError",
    "KeystoreSigner",
    "LocalSigner",
    "Lockout",
    "MemoryApiKeyStore",
    "NonceStore",
    "PasswordSource",
    "Principal",
    "PromptPassword",
    "RemoteSigner",
    "Signer",
    "SignerError",
    "StaticPassword",
    "Totp",
    "check_signature_shape",
    "default_keystore_dir",
    "generate_api_key",
    "new_totp_secret",
    "recover_digest",
    "recover_transaction",
    "recover_typed_data",
    "sign_admin_request",
    "verify_audit_log",
]
