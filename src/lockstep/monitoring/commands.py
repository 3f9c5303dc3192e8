"""`monitor`'s work: read params.yaml and the reference, monitor the logs, write the report, say what happened."""

from __future__ import annotations

from pathlib import Path

from ..config import load_params
from ..errors import PipelineError
from ..evaluation.reference import MonitoringReference
from .monitor import run_monitor
from .report import EXIT_ALERT, EXIT_OK, series_name, write_monitor_report


def load_reference(version: str | None, reference_file: Path | None) -> tuple[MonitoringReference, str | None, str]:
    """The reference, the version whose records to check (None: every version), and how the report names it."""
    if reference_file is not None:
        if not reference_file.is_file():
            raise PipelineError(f"--reference {reference_file}: not found; evaluate writes models/reference.json")
        try:
            return MonitoringReference.from_json(reference_file.read_bytes()), None, f"file `{reference_file}`"
        except (ValueError, KeyError, TypeError) as exc:
            raise PipelineError(f"--reference {reference_file}: not a monitoring reference ({exc})") from None
    from ..registry import PROD
    from ..registry.store import load_version

    loaded = load_version(version or PROD)
    if loaded.reference is None:
        raise PipelineError(
            f"version {loaded.version} has no monitoring reference (trained before evaluate wrote one); "
            "pass --reference FILE"
        )
    return loaded.reference, loaded.version, f"version `{loaded.version}`"


def run_monitor_command(
    logs: Path | str,
    out: Path,
    params_file: Path,
    version: str | None = None,
    reference_file: Path | None = None,
    since: float | None = None,
    github_output: Path | None = None,
) -> int:
    """Write the monitoring report into `out`; return 0 (no alert) or EXIT_ALERT (an alert fired).

    `github_output`: a file to append `alert=true|false` and `alerts=<count>` to (CI's GITHUB_OUTPUT).
    """
    params = load_params(params_file)
    reference, only, name = load_reference(version, reference_file)
    monitoring = run_monitor(logs, reference, params.monitor, since, only, params.seed)
    report = write_monitor_report(monitoring, out, name)
    alerts = monitoring.alerts
    print(f"monitor: {report}: {len(alerts)} alert{'s' if len(alerts) != 1 else ''} fired")
    for entry in alerts.itertuples():
        print(f"monitor: {entry.check}: {series_name(entry).replace('`', '')}")
    if github_output:
        with github_output.open("a", encoding="utf-8") as output:
            output.write(f"alert={str(monitoring.alerted).lower()}\nalerts={len(alerts)}\n")
    return EXIT_ALERT if monitoring.alerted else EXIT_OK
