"""conf/ holds the values and the schema the types and constraints: each value lives in one place.

Every config-group choice composes into params that the schema accepts, with
every key the schema requires. A schema default may only stand for a key that
conf/ leaves out. The rollout keeps its defaults on purpose (config/rollout.py),
and tests/unit/rollout/test_settings.py holds them equal to conf/rollout/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lockstep.config import ColumnRule, Params, RolloutConfig, compose_params

from tests.conftest import REPO_ROOT

GROUPS = {
    group: sorted(path.stem for path in (REPO_ROOT / "conf" / group).glob("*.yaml"))
    for group in ("data", "rollout", "monitor")
}
CHOICES = [(group, choice) for group, choices in GROUPS.items() for choice in choices]


def defaults_set_in_conf(section: BaseModel, raw: dict[str, Any], where: str) -> list[str]:
    """The keys that conf/ sets although the schema has a default for them: a value in two places."""
    found = []
    for name, field in type(section).model_fields.items():
        key = field.alias or name
        value = getattr(section, name)
        if isinstance(value, RolloutConfig | ColumnRule):  # defaults on purpose: config/rollout.py, "no such rule"
            continue
        if isinstance(value, BaseModel):
            found += defaults_set_in_conf(value, raw.get(key) or {}, f"{where}{key}.")
        elif key in raw and not field.is_required():
            found.append(f"{where}{key} (conf/ says {raw[key]!r}, the schema's default is {field.get_default()!r})")
    return found


@pytest.mark.parametrize(("group", "choice"), CHOICES)
def test_every_choice_composes_into_params_the_schema_accepts(
    group: str, choice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    monkeypatch.chdir(REPO_ROOT)
    params = compose_params([f"{group}={choice}"], output=tmp_path / "params.yaml")
    raw = yaml.safe_load((tmp_path / "params.yaml").read_text())
    assert isinstance(params, Params)
    assert not defaults_set_in_conf(params, raw, ""), "each value belongs in conf/ alone: drop its schema default"
