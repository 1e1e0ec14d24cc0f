"""Deploy the Strikebook suite (registry, oracle, exchange/vault) to any JSON-RPC endpoint.

On a local chain (Anvil 31337, Ganache 1337) it also deploys test tokens: a 6-decimal quote token
and an 18-decimal underlying, both added as registry assets. The result is a `Manifest`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from keys.signer import Signer

from ._hashing import Address, keccak256, to_address
from .abi import ContractABI, contract_abi
from .chain import Chain
from .errors import ChainError, DeployError
from .manifest import Manifest, TokenInfo
from .transactions import send_and_wait

LOCAL_CHAIN_IDS = frozenset({31337, 1337})

DEFAULT_ADMIN_ROLE = bytes(32)
OPERATOR_ROLE = keccak256(b"OPERATOR_ROLE")
PAUSER_ROLE = keccak256(b"PAUSER_ROLE")
LISTER_ROLE = keccak256(b"LISTER_ROLE")
ORACLE_ADMIN_ROLE = keccak256(b"ORACLE_ADMIN_ROLE")

ROLE_NAMES = {
    DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN_ROLE",
    OPERATOR_ROLE: "OPERATOR_ROLE",
    PAUSER_ROLE: "PAUSER_ROLE",
    LISTER_ROLE: "LISTER_ROLE",
    ORACLE_ADMIN_ROLE: "ORACLE_ADMIN_ROLE",
}

#: Test tokens deployed on local chains: manifest key -> (name, symbol, decimals).
TEST_TOKENS = {
    "quote": ("Strikebook Test USD", "tUSD", 6),
    "underlying": ("Strikebook Test ETH", "tETH", 18),
}


@dataclass(frozen=True)
class DeployConfig:
    """Who holds what after the deploy. Empty role lists default to the deployer.

    The deployer is the initial DEFAULT_ADMIN_ROLE holder of every contract (hand it over later
    with the two-step `beginDefaultAdminTransfer`, which waits `admin_delay` seconds).
    """

    operators: Sequence[str] = ()
    pausers: Sequence[str] = ()
    listers: Sequence[str] = ()
    oracle_admins: Sequence[str] = ()
    oracle_signers: Sequence[str] = ()
    oracle_threshold: int | None = None
    fee_recipient: str | None = None
    admin_delay: int | None = None
    test_tokens: bool | None = None
    extra_assets: Sequence[str] = field(default_factory=tuple)


def _holders(configured: Sequence[str], default: Address) -> list[Address]:
    return [to_address(a) for a in configured] or [default]


class _Deployer:
    def __init__(self, chain: Chain, signer: Signer, log: Callable[[str], None]) -> None:
        self.chain = chain
        self.signer = signer
        self.log = log
        self.nonce = chain.nonce(signer.address, "pending")
        self.first_block: int | None = None

    def send(self, to: str | None, data: bytes, what: str) -> Address | None:
        receipt = send_and_wait(self.chain, self.signer, to, data, nonce=self.nonce)
        self.nonce += 1
        if self.first_block is None:
            self.first_block = receipt.block_number
        self.log(f"{what}: block {receipt.block_number}, gas {receipt.gas_used:,}")
        return receipt.contract_address

    def create(self, abi: ContractABI, *args: object) -> Address:
        address = self.send(None, abi.encode_deploy(*args), f"deployed {abi.artifact.name}")
        if address is None:
            raise DeployError(f"{abi.artifact.name}: the receipt names no contract address")
        return address

    def call(self, abi: ContractABI, address: str, fn: str, *args: object) -> None:
        self.send(address, abi.encode_call(fn, *args), f"{abi.artifact.name}.{fn}")


def deploy(
    chain: Chain,
    signer: Signer,
    config: DeployConfig | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> Manifest:
    """Deploy and configure the suite; returns the manifest (write it with `Manifest.save`)."""
    config = config or DeployConfig()
    try:
        return _deploy(chain, signer, config, log)
    except ChainError as exc:
        raise DeployError(f"deploy failed: {exc}") from exc


def _deploy(chain: Chain, signer: Signer, config: DeployConfig, log: Callable[[str], None]) -> Manifest:
    chain_id = chain.chain_id()
    local = chain_id in LOCAL_CHAIN_IDS
    with_tokens = local if config.test_tokens is None else config.test_tokens
    admin_delay = config.admin_delay if config.admin_delay is not None else (0 if local else 2 * 86400)
    me = signer.address
    d = _Deployer(chain, signer, log)

    registry_abi = contract_abi("SeriesRegistry")
    oracle_abi = contract_abi("SettlementOracle")
    exchange_abi = contract_abi("Exchange")
    token_abi = contract_abi("TestToken")

    registry = d.create(registry_abi, admin_delay, me)
    oracle = d.create(oracle_abi, admin_delay, me)
    fee_recipient = to_address(config.fee_recipient) if config.fee_recipient else me
    exchange = d.create(exchange_abi, registry, oracle, fee_recipient, admin_delay, me)

    operators = _holders(config.operators, me)
    pausers = _holders(config.pausers, me)
    listers = _holders(config.listers, me)
    oracle_admins = _holders(config.oracle_admins, me)
    signers = [to_address(a) for a in config.oracle_signers]
    needs_listing = with_tokens or bool(config.extra_assets)
    temp_lister = needs_listing and me not in listers
    temp_oracle_admin = bool(signers) and me not in oracle_admins

    grants: list[tuple[ContractABI, Address, bytes, list[Address]]] = [
        (exchange_abi, exchange, OPERATOR_ROLE, operators),
        (exchange_abi, exchange, PAUSER_ROLE, pausers),
        (registry_abi, registry, LISTER_ROLE, [*listers, *([me] if temp_lister else [])]),
        (registry_abi, registry, PAUSER_ROLE, pausers),
        (oracle_abi, oracle, ORACLE_ADMIN_ROLE, [*oracle_admins, *([me] if temp_oracle_admin else [])]),
    ]
    for abi, address, role, holders in grants:
        for holder in holders:
            d.call(abi, address, "grantRole", role, holder)

    for signer_address in signers:
        d.call(oracle_abi, oracle, "addSigner", signer_address)
    threshold = config.oracle_threshold if config.oracle_threshold is not None else (1 if signers else 0)
    if threshold:
        d.call(oracle_abi, oracle, "setThreshold", threshold)

    tokens: dict[str, TokenInfo] = {}
    if with_tokens:
        for key, (name, symbol, decimals) in TEST_TOKENS.items():
            token = d.create(token_abi, name, symbol, decimals)
            tokens[key] = TokenInfo(token, symbol, decimals)
            d.call(registry_abi, registry, "addAsset", token)
    for asset in config.extra_assets:
        d.call(registry_abi, registry, "addAsset", to_address(asset))

    if temp_lister:
        d.call(registry_abi, registry, "renounceRole", LISTER_ROLE, me)
    if temp_oracle_admin:
        d.call(oracle_abi, oracle, "renounceRole", ORACLE_ADMIN_ROLE, me)

    contracts = {"SeriesRegistry": registry, "SettlementOracle": oracle, "Exchange": exchange}
    candidates = sorted({me, *operators, *pausers, *listers, *oracle_admins})
    roles = {
        "SeriesRegistry": _read_roles(chain, registry_abi, registry, [LISTER_ROLE, PAUSER_ROLE], candidates),
        "SettlementOracle": _read_roles(chain, oracle_abi, oracle, [ORACLE_ADMIN_ROLE], candidates),
        "Exchange": _read_roles(chain, exchange_abi, exchange, [OPERATOR_ROLE, PAUSER_ROLE], candidates),
    }
    assert d.first_block is not None
    return Manifest(
        chain_id=chain_id,
        deployment_block=d.first_block,
        deployer=me,
        contracts=contracts,
        code_hashes={name: "0x" + keccak256(chain.code(addr)).hex() for name, addr in contracts.items()},
        roles=roles,
        tokens=tokens,
        oracle_signers=signers,
        oracle_threshold=threshold,
    )


def _read_roles(
    chain: Chain, abi: ContractABI, address: Address, roles: list[bytes], candidates: Sequence[Address]
) -> dict[str, list[Address]]:
    """Role holders as the chain reports them. AccessControl is not enumerable, so each candidate
    is asked with `hasRole`; the default admin comes from `defaultAdmin()`."""
    (admin,) = abi.decode_output("defaultAdmin", chain.call(address, abi.encode_call("defaultAdmin")))
    out: dict[str, list[Address]] = {"DEFAULT_ADMIN_ROLE": [admin]}
    for role in roles:
        held = []
        for c in candidates:
            (has,) = abi.decode_output("hasRole", chain.call(address, abi.encode_call("hasRole", role, c)))
            if has:
                held.append(c)
        out[ROLE_NAMES[role]] = held
    return out
