"""Fixtures for keys/ tests: a private keystore directory with light scrypt (tests only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from keys.keystore import INSECURE_TEST_SCRYPT_N, Keystore

#: A fixed test key (never used anywhere real) and its address, for byte-for-byte comparisons.
TEST_KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
TEST_ADDRESS: ChecksumAddress = to_checksum_address("0x2c7536E3605D9C16a7a3D7b1898e529396a65c23")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    """An empty keystore in a fresh directory, with scrypt n = 2**10 so tests stay fast."""
    return Keystore(tmp_path / "keys", scrypt_n=INSECURE_TEST_SCRYPT_N)
