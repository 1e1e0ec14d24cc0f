"""`RemoteSigner`: a `Signer` whose key lives in another process (Web3Signer, Clef, `keys.remote_server`).

Speaks the JSON-RPC those signers share: `eth_accounts`, `eth_signTypedData_v4`,
`eth_signTransaction`. Every answer is verified before it is returned: a signature must be 65
bytes with v in {27, 28} and low s and must recover to this signer's address; a signed transaction
must recover to it too. A misconfigured or compromised signer therefore cannot slip a signature for
another key past the caller.

Blind digest signing (`sign_digest`) is refused: remote signers deliberately do not sign raw
hashes, so they can see and apply policy to what they sign. Use `sign_typed_data`.
"""

from __future__ import annotations

import base64
import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address

from ._rpc_tx import tx_to_rpc
from .errors import RemoteSignerError, SignerError, UnsupportedSigningError
from .verify import check_signature_shape, recover_transaction, recover_typed_data


def _redact(url: str) -> str:
    """The URL without any user:password part, for reprs and error messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _split_credentials(url: str) -> tuple[str, str | None]:
    """(URL without user:password, a Basic Authorization header value or None)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    userinfo = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, "Basic " + base64.b64encode(userinfo.encode()).decode()


def _decode_hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RemoteSignerError(f"remote signer returned a malformed {what} (expected 0x-hex)")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RemoteSignerError(f"remote signer returned a malformed {what} (bad hex)") from None


class RemoteSigner:
    """Signs through a JSON-RPC remote signer at `url` for `address` (or its only account).

    `auth_token` is sent as a bearer token; `user:password@` in the URL as HTTP Basic auth.
    Neither ever appears in reprs or error messages.
    """

    def __init__(
        self,
        url: str,
        address: str | None = None,
        *,
        timeout: float = 10.0,
        auth_token: str | None = None,
    ) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RemoteSignerError(f"remote signer URL must be http(s): {_redact(url)}")
        self._url, self._basic_auth = _split_credentials(url)
        self._timeout = timeout
        self._auth_token = auth_token
        self._address: ChecksumAddress | None = None
        self._ids = itertools.count(1)
        accounts = self.accounts()
        if address is None:
            if len(accounts) != 1:
                raise RemoteSignerError(
                    f"remote signer at {_redact(url)} holds {len(accounts)} accounts; say which address to use"
                )
            self._address = accounts[0]
        else:
            if not is_address(address):
                raise RemoteSignerError(f"not an address: {address!r}")
            wanted = to_checksum_address(address)
            if wanted not in accounts:
                raise RemoteSignerError(f"remote signer at {_redact(url)} does not hold {wanted}")
            self._address = wanted

    def __repr__(self) -> str:
        return f"RemoteSigner({_redact(self._url)!r}, {self._address})"

    @property
    def address(self) -> ChecksumAddress:
        assert self._address is not None  # set in __init__ or __init__ raised
        return self._address

    # --- JSON-RPC -----------------------------------------------------------------------------

    def _call(self, method: str, params: list[Any]) -> Any:
        request_id = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._auth_token is not None:
            headers["Authorization"] = f"Bearer {self._auth_token}"
        elif self._basic_auth is not None:
            headers["Authorization"] = self._basic_auth
        req = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        where = _redact(self._url)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RemoteSignerError(f"remote signer at {where} answered HTTP {exc.code} to {method}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteSignerError(f"cannot reach remote signer at {where} ({reason})") from None
        except json.JSONDecodeError:
            raise RemoteSignerError(f"remote signer at {where} answered {method} with invalid JSON") from None
        if not isinstance(payload, dict) or payload.get("id") != request_id:
            raise RemoteSignerError(f"remote signer at {where} answered {method} with a mismatched response")
        if "error" in payload:
            error = payload["error"] if isinstance(payload["error"], dict) else {}
            raise RemoteSignerError(
                f"remote signer refused {method}: {error.get('message', 'unknown error')} (code {error.get('code')})"
            )
        if "result" not in payload:
            raise RemoteSignerError(f"remote signer at {where} answered {method} without a result")
        return payload["result"]

    def accounts(self) -> list[ChecksumAddress]:
        """The addresses the remote signer holds (`eth_accounts`)."""
        result = self._call("eth_accounts", [])
        if not isinstance(result, list) or not all(isinstance(a, str) and is_address(a) for a in result):
            raise RemoteSignerError("remote signer answered eth_accounts with something other than addresses")
        return [to_checksum_address(a) for a in result]

    # --- Signer -------------------------------------------------------------------------------

    def sign_digest(self, digest: bytes) -> bytes:
        raise UnsupportedSigningError(
            "remote signers do not sign raw digests (they must see what they sign); use sign_typed_data"
        )

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        signature = _decode_hex(self._call("eth_signTypedData_v4", [self.address, typed_data]), "signature")
        if len(signature) == 65 and signature[64] in (0, 1):
            signature = signature[:64] + bytes([signature[64] + 27])  # some signers answer v in {0, 1}
        try:
            check_signature_shape(signature)
            signer = recover_typed_data(typed_data, signature)
        except SignerError as exc:
            raise RemoteSignerError(f"remote signer returned an unusable signature: {exc}") from None
        if signer != self.address:
            raise RemoteSignerError(f"remote signer returned a signature by {signer}, not by {self.address}")
        return signature

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        result = self._call("eth_signTransaction", [tx_to_rpc(tx, self.address)])
        raw_hex = result.get("raw") if isinstance(result, dict) else result  # Clef/geth: {"raw", "tx"}
        raw = _decode_hex(raw_hex, "signed transaction")
        try:
            sender = recover_transaction(raw)
        except Exception as exc:  # eth-account raises several types for undecodable bytes
            raise RemoteSignerError(f"remote signer returned a bad transaction ({type(exc).__name__})") from None
        if sender != self.address:
            raise RemoteSignerError(f"remote signer returned a transaction signed by {sender}, not by {self.address}")
        return raw
