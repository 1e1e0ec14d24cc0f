"""A small JSON-RPC remote signer: holds one keystore-unlocked key and signs over loopback HTTP.

It answers the methods common remote signers share (`eth_accounts`, `eth_signTypedData_v4`,
`eth_signTransaction`) so `RemoteSigner` can be tested against a real separate process, and so an
operator can keep the key out of the relayer's process. Policy: it signs only for its own
address, refuses pre-EIP-155 (chain-less) transactions, and, with `--chain-id`, refuses typed data
and transactions for any other chain. It never signs raw digests. Optional bearer-token auth.

Run: `python -m keys.remote_server --keystore-dir DIR --key NAME --password-env VAR [--port 0]`.
It prints `READY <url> <address>` on stdout once it listens (port 0 picks a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import signal
import sys
from typing import Any

from aiohttp import web

from ._rpc_tx import tx_from_rpc
from .errors import KeysError
from .keystore import Keystore
from .keystore_signer import KeystoreSigner
from .passwords import EnvPassword, FilePassword, PasswordSource
from .signer import Signer

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
REFUSED = -32000


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _same_address(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.lower() == b.lower()


class SignerService:
    """The JSON-RPC methods, independent of HTTP (so policy is testable on its own)."""

    def __init__(self, signer: Signer, *, chain_id: int | None = None) -> None:
        self.signer = signer
        self.chain_id = chain_id

    def _check_chain(self, chain_id: Any, what: str) -> None:
        if self.chain_id is not None and chain_id != self.chain_id:
            raise _RpcError(REFUSED, f"{what} is for chain {chain_id}, this signer only signs for {self.chain_id}")

    def call(self, method: str, params: list[Any]) -> Any:
        if method == "eth_accounts":
            return [self.signer.address]
        if method == "eth_signTypedData_v4":
            return self._sign_typed_data(params)
        if method == "eth_signTransaction":
            return self._sign_transaction(params)
        raise _RpcError(METHOD_NOT_FOUND, f"method {method!r} is not offered by this signer")

    def _sign_typed_data(self, params: list[Any]) -> str:
        if len(params) != 2:
            raise _RpcError(INVALID_PARAMS, "expected [address, typedData]")
        address, typed_data = params
        if not _same_address(address, self.signer.address):
            raise _RpcError(REFUSED, f"unknown account {address}")
        if isinstance(typed_data, str):
            try:
                typed_data = json.loads(typed_data)
            except json.JSONDecodeError:
                raise _RpcError(INVALID_PARAMS, "typedData is not valid JSON") from None
        if not isinstance(typed_data, dict) or not isinstance(typed_data.get("domain"), dict):
            raise _RpcError(INVALID_PARAMS, "typedData must be an object with a domain")
        self._check_chain(typed_data["domain"].get("chainId"), "typed data")
        try:
            signature = self.signer.sign_typed_data(typed_data)
        except (ValueError, TypeError, KeyError) as exc:
            raise _RpcError(INVALID_PARAMS, f"cannot encode typed data ({type(exc).__name__})") from None
        return "0x" + signature.hex()

    def _sign_transaction(self, params: list[Any]) -> str:
        if len(params) != 1 or not isinstance(params[0], dict):
            raise _RpcError(INVALID_PARAMS, "expected [transaction]")
        try:
            sender, tx = tx_from_rpc(params[0])
        except ValueError as exc:
            raise _RpcError(INVALID_PARAMS, str(exc)) from None
        if not _same_address(sender, self.signer.address):
            raise _RpcError(REFUSED, f"unknown account {sender}")
        if "chainId" not in tx:
            raise _RpcError(REFUSED, "transactions without chainId (replayable on every chain) are refused")
        self._check_chain(tx["chainId"], "transaction")
        try:
            raw = self.signer.sign_transaction(tx)
        except (ValueError, TypeError, KeyError) as exc:
            raise _RpcError(INVALID_PARAMS, f"cannot sign transaction ({type(exc).__name__}: {exc})") from None
        return "0x" + raw.hex()


def build_app(signer: Signer, *, chain_id: int | None = None, auth_token: str | None = None) -> web.Application:
    """An aiohttp app serving JSON-RPC on POST /."""
    service = SignerService(signer, chain_id=chain_id)

    async def handle(request: web.Request) -> web.Response:
        if auth_token is not None:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {auth_token}".encode()):
                return web.json_response({"error": "unauthorized"}, status=401)
        request_id: Any = None
        try:
            try:
                payload = json.loads(await request.read())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise _RpcError(PARSE_ERROR, "request body is not JSON") from None
            if not isinstance(payload, dict) or not isinstance(payload.get("method"), str):
                raise _RpcError(INVALID_REQUEST, "expected one JSON-RPC 2.0 request object")
            request_id = payload.get("id")
            params = payload.get("params", [])
            if not isinstance(params, list):
                raise _RpcError(INVALID_PARAMS, "params must be an array")
            result = service.call(payload["method"], params)
        except _RpcError as exc:
            log.info("refused %s: %s", request.path, exc.message)
            error = {"code": exc.code, "message": exc.message}
            return web.json_response({"jsonrpc": "2.0", "id": request_id, "error": error})
        log.info("signed via %s for %s", payload["method"], signer.address)
        return web.json_response({"jsonrpc": "2.0", "id": request_id, "result": result})

    app = web.Application(client_max_size=256 * 1024)
    app.router.add_post("/", handle)
    return app


async def serve(signer: Signer, host: str, port: int, *, chain_id: int | None, auth_token: str | None) -> None:
    """Serve until SIGTERM/SIGINT; print `READY <url> <address>` once listening."""
    runner = web.AppRunner(build_app(signer, chain_id=chain_id, auth_token=auth_token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    print(f"READY http://{bound[0]}:{bound[1]} {signer.address}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keys.remote_server", description=__doc__.splitlines()[0])
    parser.add_argument("--keystore-dir", required=True)
    parser.add_argument("--key", required=True, help="name of the key in the keystore")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--password-env", help="environment variable holding the keystore password")
    group.add_argument("--password-file", help="file whose first line is the keystore password")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chain-id", type=int, default=None, help="refuse to sign for any other chain")
    parser.add_argument("--auth-token-env", default=None, help="environment variable holding a bearer token")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    password: PasswordSource = EnvPassword(args.password_env) if args.password_env else FilePassword(args.password_file)
    token = None
    if args.auth_token_env:
        token = os.environ.get(args.auth_token_env)
        if not token:
            print(f"error: {args.auth_token_env} is not set", file=sys.stderr)
            return 2
    try:
        signer = KeystoreSigner(Keystore(args.keystore_dir), args.key, password)
    except KeysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(signer, args.host, args.port, chain_id=args.chain_id, auth_token=token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
