"""Acting on a decision in a real Git repository with GTO tags: promote, roll back, widen, wait."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockstep import registry
from lockstep.cli import main
from lockstep.errors import PipelineError
from lockstep.rollout.apply import apply_decision, widen
from lockstep.rollout.decide import Action

from tests.shared import write_params
from tests.unit.registry.test_tags import git, tags

REASONS = ["guardrails hold", "`roc_auc` +0.0300 against prod: better than prod"]


def tag_message(repo: Path, tag: str) -> str:
    return git(repo, "tag", "-l", "--format=%(contents)", tag)


def test_promote_moves_the_candidate_to_prod_and_empties_its_stage(rollout_repo: Path) -> None:
    done = apply_decision(Action.PROMOTE, "canary", "v0.2.0", REASONS)
    assert done == "promoted v0.2.0 to prod; canary unassigned"
    assert registry.stage_version(".", "prod") == "v0.2.0"
    assert registry.stage_version(".", "canary") is None
    new = sorted(set(tags(".")) - {"model@v0.1.0", "model@v0.2.0", "model#prod#1", "model#canary#2"})
    assert new == ["model#canary!#4", "model#prod#3"]
    assert "better than prod" in tag_message(rollout_repo, "model#prod#3")


def test_rollback_unassigns_the_candidate_and_leaves_prod(rollout_repo: Path) -> None:
    apply_decision(Action.ROLLBACK, "canary", "v0.2.0", ["the candidate failed 5.00% of its requests"])
    assert (registry.stage_version(".", "prod"), registry.stage_version(".", "canary")) == ("v0.1.0", None)
    assert "failed 5.00%" in tag_message(rollout_repo, "model#canary!#3")


def test_wait_changes_nothing_and_a_stale_decision_is_refused(rollout_repo: Path) -> None:
    before = tags(".")
    assert apply_decision(Action.WAIT, "canary", "v0.2.0", REASONS) == "wait: nothing to change"
    with pytest.raises(PipelineError, match="stage 'canary' holds v0.2.0, not v0.1.0 that the report judged"):
        apply_decision(Action.ROLLBACK, "canary", "v0.1.0", REASONS)
    assert tags(".") == before


def test_the_cli_applies_decision_json_only_if_it_is_the_approved_one(
    rollout_repo: Path, capsys: pytest.CaptureFixture
) -> None:
    decision = rollout_repo / "decision.json"
    record = {"action": "rollback", "mode": "canary", "stage": "canary", "version": "v0.2.0", "percent": None}
    decision.write_text(json.dumps(record | {"reasons": REASONS}))
    assert main(["rollout", "apply", "--decision", str(decision), "--expect", "promote"]) == 2
    assert "the decision is now 'rollback', not 'promote' as approved: nothing done" in capsys.readouterr().err
    assert registry.stage_version(".", "canary") == "v0.2.0"
    assert main(["rollout", "apply", "--decision", str(decision), "--expect", "rollback"]) == 0
    assert registry.stage_version(".", "canary") is None


def test_widen_sets_the_percent_and_keeps_the_comments() -> None:
    text = "# A canary.\nmode: canary\npercent: 10  # of users\nsteps: [10, 25, 50, 100]\n"
    assert widen(text, 25) == "# A canary.\nmode: canary\npercent: 25  # of users\nsteps: [10, 25, 50, 100]\n"
    with pytest.raises(PipelineError, match="no top-level `percent:` line"):
        widen("mode: canary\n  percent: 10\n", 25)


def test_next_step_is_a_commit_of_conf_and_params(rollout_repo: Path) -> None:
    import shutil

    from tests.conftest import REPO_ROOT

    shutil.copytree(REPO_ROOT / "conf", rollout_repo / "conf")
    conf = rollout_repo / "conf" / "rollout" / "canary.yaml"
    conf.write_text(widen(conf.read_text(), 10))
    defaults = rollout_repo / "conf" / "config.yaml"  # the README's way: select the canary in the defaults
    defaults.write_text(defaults.read_text().replace("- rollout: none", "- rollout: canary"))
    main(["params"])
    assert "percent: 10" in (rollout_repo / "params.yaml").read_text()
    git(rollout_repo, "add", "-A")
    git(rollout_repo, "commit", "-q", "-m", "canary at 10%")
    done = apply_decision(Action.NEXT_STEP, "canary", "v0.2.0", REASONS, mode="canary", percent=25)
    assert done == "committed: rollout: widen the canary v0.2.0 to 25%"
    assert git(rollout_repo, "show", "--stat", "--format=%B", "HEAD").count("better than prod") == 1
    assert "percent: 25" in (rollout_repo / "params.yaml").read_text()


def test_status_names_the_mode_share_and_versions(rollout_repo: Path, capsys: pytest.CaptureFixture) -> None:
    params, output = rollout_repo / "params.yaml", rollout_repo / "github-output"
    write_params(params, rollout={"mode": "canary", "percent": 10})
    assert main(["rollout", "status", "--output", str(output)]) == 0
    assert capsys.readouterr().out == "rollout: canary at 10%: prod v0.1.0, candidate v0.2.0 in stage canary\n"
    write_params(params, seed=1)
    assert main(["rollout", "status", "--output", str(output)]) == 0
    assert "no rollout in progress" in capsys.readouterr().out
    assert output.read_text() == "mode=canary\nmode=none\n"
