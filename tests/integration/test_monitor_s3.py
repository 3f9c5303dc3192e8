"""The monitor reads an S3 prefix through the one log reader, as it reads a folder, and gives the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.config import Params
from lockstep.contract import prediction_log as log
from lockstep.data.synthetic import NO_DRIFT
from lockstep.evaluation.reference import MonitoringReference
from lockstep.monitoring.monitor import run_monitor
from lockstep.registry.store import ModelVersion

from tests.s3 import BUCKET, CREDENTIALS, s3_client
from tests.unit.conftest import (  # noqa: F401
    bundle,
    cfg,
    contract,
    monitoring_reference,
    prepared,
    served,
    trained,
    trusted_types,
)
from tests.unit.monitoring.traffic import write_traffic


def test_the_monitor_reads_an_s3_prefix_as_a_folder(
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    served: ModelVersion,  # noqa: F811
    monitoring_reference: MonitoringReference,  # noqa: F811
    cfg: Params,  # noqa: F811
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    logs = write_traffic(tmp_path / "logs", served, [NO_DRIFT, NO_DRIFT], rows=500, labelled=0.5)
    prefix = f"{tmp_path.name}/logs"
    for name in (log.PREDICTIONS_FILE, log.FEEDBACK_FILE):
        s3_client(s3_endpoint).put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=(logs / name).read_bytes())
    from_s3 = run_monitor(f"s3://{BUCKET}/{prefix}", monitoring_reference, cfg.monitor).table
    from_folder = run_monitor(logs, monitoring_reference, cfg.monitor).table
    assert len(from_s3) > 0
    assert from_s3.equals(from_folder)
