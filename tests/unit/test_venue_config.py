"""`VenueConfig`'s fill limit: defaults to the batch size, never above it, and reaches the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from keys.signer import Signer
from relayer.config import ConfigError, VenueConfig
from relayer.engine import EngineConfig, SelfTradePrevention
from settlement.manifest import Manifest


def _config(**overrides: Any) -> VenueConfig:
    # the fill-limit checks read no manifest, store or key: placeholders are enough
    base: dict[str, Any] = dict(
        manifest=cast(Manifest, None),
        rpc_url="http://127.0.0.1:8545",
        db_url="sqlite://",
        operator=cast(Signer, None),
        data_dir=Path("/nonexistent"),
    )
    base.update(overrides)
    return VenueConfig(**base)


def test_the_fill_limit_defaults_to_the_batch_size() -> None:
    assert _config().fill_limit == 64
    config = _config(batch_size=16, engine=EngineConfig(stp=SelfTradePrevention.CANCEL_INCOMING))
    assert config.fill_limit == 16
    engine = config.engine_config()
    assert engine.max_fills_per_order == 16 and engine.stp is SelfTradePrevention.CANCEL_INCOMING


def test_a_lower_fill_limit_is_used() -> None:
    assert _config(batch_size=16, max_fills_per_order=4).engine_config().max_fills_per_order == 4


def test_a_fill_limit_above_the_batch_size_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"max_fills_per_order \(65\) exceeds batch_size \(64\)") as err:
        _config(max_fills_per_order=65)
    assert err.value.code == "config_invalid"


@pytest.mark.parametrize("overrides", [{"max_fills_per_order": 0}, {"batch_size": 0}])
def test_limits_below_one_are_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        _config(**overrides)


def test_a_conflicting_engine_limit_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"engine\.max_fills_per_order"):
        _config(batch_size=8, engine=EngineConfig(max_fills_per_order=4))
    # the same value is fine (e.g. a config rebuilt from `engine_config()`)
    assert _config(batch_size=8, max_fills_per_order=4, engine=EngineConfig(max_fills_per_order=4)).fill_limit == 4
