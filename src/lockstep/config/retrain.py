"""`retrain:`: continuous training, one pull request at a time (the `retrain` command and workflow)."""

from __future__ import annotations

from typing import Annotated

from .base import Section, rule

Hours = Annotated[float, rule(lambda hours: hours >= 0, "must be 0 or more hours")]


class RetrainConfig(Section):
    """Where a retrain's pull request lives, and how often one may open."""

    # The one branch every retrain commits to: its open pull request is updated, never doubled.
    branch: str
    # The branch the pull request targets, and the retrain starts from.
    base: str
    # After a retrain pull request closed or merged, no new one opens for this long.
    cooldown_hours: Hours
