"""Routing between the arms of a rollout: `prod`, and a candidate in the `canary` or `shadow` stage.

A `RoutingTable` is everything a request needs to be routed: the rollout
config and the loaded versions. The server holds one table and replaces it
whole (a new percentage, a new candidate, the end of a rollout), so a request
is routed and answered entirely under the table that was current when it came.

Canary and A/B assignment is deterministic and sticky: a request's sticky key
(its `sticky_key` column's value, or else its request id) is hashed with the
rollout's salt into one of 10,000 buckets, and the candidate answers the
buckets below its share. The hash is BLAKE2b, not Python's `hash()` (salted
per process), so a key keeps its arm across restarts and replicas.

A rollout whose candidate is "the version in the `canary` (or `shadow`)
stage" finds that stage empty after a rollback or a promotion: its table then
routes every request to `prod`, and says so (`prod_only`). A candidate named
explicitly (`candidate:`, a version or a bundle) must load, or the table is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import RolloutConfig
from ..errors import PipelineError
from ..registry import PROD
from ..registry.store import EmptyStageError, ModelVersion, load_version, resolve_stage
from .shadow import ShadowScorer

BUCKETS = 10_000
log = logging.getLogger(__name__)


def bucket(salt: str, key: str) -> int:
    """The bucket (0 to 9,999) of `key` under `salt`: the same on every machine and every run."""
    digest = hashlib.blake2b(salt.encode() + b"\0" + key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def sticky_value(records: list[dict[str, Any]], sticky_key: str | None, request_id: str) -> str:
    """What a request is assigned by: its first record's `sticky_key` value, or else its request id."""
    if sticky_key and records and records[0].get(sticky_key) is not None:
        return str(records[0][sticky_key])
    return request_id


@dataclass(frozen=True)
class RoutingTable:
    """A rollout config and the versions it names: prod, and the candidate (None when mode is none).

    `stage_empty`: the rollout's candidate is its stage's version, and that stage held none
    when the table was built, so prod answers alone.
    """

    rollout: RolloutConfig
    prod: ModelVersion
    candidate: ModelVersion | None = None
    stage_empty: bool = False

    def __post_init__(self) -> None:
        if self.stage_empty and (self.candidate is not None or self.rollout.candidate or self.rollout.mode == "none"):
            raise PipelineError("only a rollout whose candidate is its stage's version can find that stage empty")
        if (self.candidate is None) != (self.rollout.mode == "none" or self.stage_empty):
            needs = "a" if self.candidate is None else "no"
            raise PipelineError(f"a {self.rollout.mode} rollout needs {needs} candidate")
        key = self.rollout.sticky_key
        for loaded in (self.prod, self.candidate):
            if key and loaded and key not in (*loaded.contract.feature_names, loaded.contract.id_column):
                raise PipelineError(
                    f"rollout.sticky_key: {key!r} is not a column of {loaded.version}'s contract; name one, or null"
                )

    @property
    def prod_only(self) -> str | None:
        """Why prod answers alone although a rollout is set (its candidate's stage is empty), in one line; else None."""
        if not self.stage_empty:
            return None
        stage = self.rollout.candidate_arm
        return (
            f"the {self.rollout.mode} rollout's stage {stage!r} holds no version (rolled back or promoted): "
            f"serving prod {self.prod.version} only, until a version is assigned to {stage!r} and the server reloads"
        )

    @property
    def candidate_arm(self) -> str | None:
        """The candidate's arm (its GTO stage), or None without a rollout."""
        return self.rollout.candidate_stage

    @property
    def shadow(self) -> ModelVersion | None:
        """The version that scores every request off the request path, if the rollout is a shadow."""
        return self.candidate if self.rollout.mode == "shadow" else None

    def choose(self, key: str) -> tuple[str, ModelVersion]:
        """The arm, and its version, that answers a request whose sticky value is `key`."""
        share = self.rollout.candidate_share or 0.0
        if self.candidate is not None and share > 0 and bucket(self.rollout.salt, key) < round(share * BUCKETS / 100):
            assert self.candidate_arm is not None
            return self.candidate_arm, self.candidate
        return PROD, self.prod

    def describe(self) -> dict[str, Any]:
        """The table as a JSON-ready summary (for the admin endpoint's answer)."""
        arms = {PROD: self.prod.version}
        if self.candidate is not None and self.candidate_arm:
            arms[self.candidate_arm] = self.candidate.version
        described: dict[str, Any] = {"rollout": self.rollout.model_dump(), "arms": arms}
        if self.stage_empty:
            described["prod_only"] = f"stage {self.rollout.candidate_arm!r} holds no version"
        return described


def load_table(
    rollout: RolloutConfig, prod: ModelVersion, load: Callable[[str], ModelVersion] = load_version
) -> RoutingTable:
    """The table for `rollout` around a loaded `prod`: the candidate is loaded and verified through `load`.

    The candidate is `rollout.candidate` (a version or a bundle folder) if set,
    else the version in `rollout.candidate_stage`, resolved through the registry:
    if that stage is empty, the table serves prod only and logs a warning saying so.
    """
    if rollout.mode == "none":
        return RoutingTable(rollout, prod)
    if rollout.candidate:
        return RoutingTable(rollout, prod, load(rollout.candidate))
    try:
        return RoutingTable(rollout, prod, load(rollout.candidate_arm))
    except EmptyStageError:
        table = RoutingTable(rollout, prod, stage_empty=True)
        log.warning("rollout: %s", table.prod_only)
        return table


def follow_stage(
    stage: str,
    current: ModelVersion,
    resolve: Callable[[str], str] = resolve_stage,
    load: Callable[[str], ModelVersion] = load_version,
) -> ModelVersion:
    """The version now in `stage` (e.g. `prod` after a promotion): `current` if it is that one, else loaded."""
    version = resolve(stage)
    return current if version == current.version else load(version)


class Router:
    """The current routing table, replaced whole by `swap`, and the shadow that scores off the request path."""

    def __init__(self, table: RoutingTable, shadow: ShadowScorer) -> None:
        self.table = table
        self.shadow = shadow
        self.lock = asyncio.Lock()  # held while a change builds the next table: one change at a time

    def swap(self, table: RoutingTable) -> RoutingTable:
        """Serve `table` from the next request on (one reference: no request sees half of it); return the old."""
        previous, self.table = self.table, table
        return previous
