"""Column types shared by the models and the migrations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

UINT256_MAX = 2**256 - 1
_DIGITS = 78  # len(str(2**256 - 1))


class Uint256(TypeDecorator[int]):
    """An exact unsigned 256-bit integer (a Solidity uint256), as a Python int.

    PostgreSQL stores NUMERIC(78, 0). SQLite has no exact type that wide (its NUMERIC affinity
    turns big values into floats), so it stores a 78-digit zero-padded decimal string, whose
    text order is the numeric order: comparisons and ORDER BY work on both backends.
    """

    impl = String(_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(_DIGITS, 0))
        return dialect.type_descriptor(String(_DIGITS))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if type(value) is not int or not 0 <= value <= UINT256_MAX:
            raise ValueError(f"not a uint256: {value!r}")
        if dialect.name == "postgresql":
            return Decimal(value)
        return f"{value:0{_DIGITS}d}"

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)
