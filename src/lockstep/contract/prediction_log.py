"""The prediction log's and the feedback log's lines, where they are kept, and the one reader of them.

The server appends one `PredictionRecord` per scored request and arm (and one per
request the contract refused, with `refused` set), and one `FeedbackRecord` per
late label posted to `/v1/feedback`; a shadow's process writes its own records
(`served=False`) to the stream `predictions.shadow`. The rollout report and the
monitor read them.

Each stream (`predictions`, `predictions.shadow`, `feedback`) is kept in
segments of JSON lines, one folder per UTC hour, in the log folder and, when
an upload is configured, under an S3 prefix laid out the same way:

    <stream>/hour=2026-12-06T14/20261206T140312.081234Z-4711-0.jsonl.open   written now
    <stream>/hour=2026-12-06T14/20261206T140312.081234Z-4711-0.jsonl        closed (fsynced)
    <stream>/hour=2026-12-06T14/20261206T140312.081234Z-4711-0.jsonl.gz     sealed: compressed, to upload

A segment's hour is when it was opened, and it closes at that hour's end, so its
records are from that hour (or, queued across the turn of the hour, just before).
Logs written before segments, `predictions.jsonl` and its rotated files
(`predictions.jsonl.1`, ...), are read too.
"""

from __future__ import annotations

import gzip
import os
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    import pandas as pd

FEEDBACK_FILE = "feedback.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"
OPEN_SUFFIX = ".jsonl.open"
CLOSED_SUFFIX = ".jsonl"
SEALED_SUFFIX = ".jsonl.gz"
HOUR_PARTITION = "hour"
HOUR_FORMAT = "%Y-%m-%dT%H"
HOUR_SECONDS = 3600


def shadow_log(prediction_log: Path) -> Path:
    """Where the shadow's process logs, next to the server's log: `predictions.jsonl` -> `predictions.shadow.jsonl`."""
    return prediction_log.with_name(f"{prediction_log.stem}.shadow{prediction_log.suffix}")


def stream_name(log_file: Path) -> str:
    """The stream a log file's path names: `logs/predictions.shadow.jsonl` -> `predictions.shadow`."""
    return log_file.name.removesuffix(".jsonl")


def hour_folder(stream: str, when: float) -> str:
    """The folder of `stream`'s segments opened at `when` (seconds since the epoch): `<stream>/hour=<UTC hour>`."""
    return f"{stream}/{HOUR_PARTITION}={time.strftime(HOUR_FORMAT, time.gmtime(when))}"


class PredictionRecord(msgspec.Struct, kw_only=True):
    """One request scored by one arm.

    `ids[i]` is row i's value of the contract's id column, or `<request_id>:<i>`
    when the contract has none; a feedback `id` refers to it. `outputs` holds one
    list per output column (`label`, and `score` or `proba_<class>`), row-aligned.
    """

    request_id: str
    time: float
    arm: str = "prod"  # the GTO stage whose version answered: prod, canary or shadow
    served: bool = True  # False for a shadow: logged, never returned
    model_version: str
    model_sha256: str
    ids: list[Any]
    inputs: list[dict[str, Any]]
    outputs: dict[str, list[Any]]
    latency_ms: float
    error: str | None = None  # a candidate that raised: the exception's one line; outputs are then empty
    # A request the contract refused (422): the rules it broke, sorted. Its inputs are kept, as the client sent
    # them; ids and outputs are empty. Only readers that ask for refusals see these records.
    refused: list[str] | None = None


class FeedbackRecord(msgspec.Struct, kw_only=True):
    """A late label: the outcome observed for the row whose id is `id`."""

    id: Any
    outcome: Any
    time: float


def read_predictions(
    source: Path | str, start: float | None = None, end: float | None = None, refusals: bool = False
) -> Iterator[PredictionRecord]:
    """The prediction records in `source` (a folder or `s3://bucket/prefix`) with `start <= time < end`.

    The server's stream first, then its shadow's, each oldest first. The contract's refusals only with
    `refusals` (the monitor counts them; the rollout compares what the arms scored).
    """
    decoder = msgspec.json.Decoder(PredictionRecord)
    for stream in (stream_name(Path(PREDICTIONS_FILE)), stream_name(shadow_log(Path(PREDICTIONS_FILE)))):
        records = _within(map(decoder.decode, log_lines(source, stream, start, end)), start, end)
        yield from (records if refusals else (record for record in records if record.refused is None))


def read_feedback(source: Path | str, start: float | None = None, end: float | None = None) -> Iterator[FeedbackRecord]:
    """The feedback records in `source` (a folder or `s3://bucket/prefix`) with `start <= time < end`, oldest first."""
    decoder = msgspec.json.Decoder(FeedbackRecord)
    yield from _within(map(decoder.decode, log_lines(source, stream_name(Path(FEEDBACK_FILE)), start, end)), start, end)


def _within(records: Iterator[Any], start: float | None, end: float | None) -> Iterator[Any]:
    for record in records:
        if (start is None or record.time >= start) and (end is None or record.time < end):
            yield record


def log_lines(source: Path | str, stream: str, start: float | None = None, end: float | None = None) -> Iterator[bytes]:
    """The lines of `stream` in `source`: its old rotated files, then the segments of the hours `start`..`end` may hold.

    One reader for a folder and an S3 prefix (`pyarrow.fs`; `pyarrow.dataset` finds the
    segments and leaves out the hours outside the window). Each segment is decoded
    whole, as written; a segment's last line, if a crash cut it, is left out.
    """
    filesystem, root = _filesystem(source)
    for name in _legacy_files(filesystem, root, f"{stream}{CLOSED_SUFFIX}"):
        yield from _lines(_read(filesystem, name), open_segment=False)
    for path in _segments(filesystem, f"{root}/{stream}", start, end):
        read = _read_segment(filesystem, path)
        if read is not None:
            yield from _lines(read[1], open_segment=read[0].endswith(OPEN_SUFFIX))


def _filesystem(source: Path | str) -> tuple[Any, str]:
    """A pyarrow file system and the root path in it, for a folder or `s3://bucket/prefix`."""
    import pyarrow.fs as pafs

    text = str(source)
    if not text.startswith("s3://"):
        return pafs.LocalFileSystem(), Path(source).resolve().as_posix()
    options: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:  # as the server's uploads and DVC read it
        parsed = urllib.parse.urlsplit(endpoint)
        options |= {"endpoint_override": parsed.netloc, "scheme": parsed.scheme or "https"}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options), text.removeprefix("s3://").rstrip("/")


def _legacy_files(filesystem: Any, root: str, name: str) -> list[str]:
    """`name` and its rotated files (`name.1` is newer than `name.2`) in `root`, oldest first."""
    import pyarrow.fs as pafs

    if filesystem.get_file_info(root).type != pafs.FileType.Directory:
        return []
    rotated: dict[int, str] = {}
    for info in filesystem.get_file_info(pafs.FileSelector(root)):
        suffix = info.base_name.removeprefix(f"{name}.")
        if info.base_name == name:
            rotated[0] = info.path
        elif info.base_name.startswith(f"{name}.") and suffix.isdigit():
            rotated[int(suffix)] = info.path
    return [rotated[number] for number in sorted(rotated, reverse=True)]


def _segments(filesystem: Any, folder: str, start: float | None, end: float | None) -> list[str]:
    """The segments in `folder`, oldest first, from the hours that may hold records in [start, end)."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    if filesystem.get_file_info(folder).type != pafs.FileType.Directory:
        return []
    hour = pa.schema([(HOUR_PARTITION, pa.string())])
    # Only the file names and their hours are used: the lines are decoded with the records' own schema.
    dataset = ds.dataset(
        folder, filesystem=filesystem, format="json", schema=hour, partitioning=ds.partitioning(hour, flavor="hive")
    )
    window = ds.scalar(True)
    if start is not None:  # a segment opened the hour before may hold records queued across the turn of the hour
        window &= ds.field(HOUR_PARTITION) >= time.strftime(HOUR_FORMAT, time.gmtime(start - HOUR_SECONDS))
    if end is not None:
        window &= ds.field(HOUR_PARTITION) <= time.strftime(HOUR_FORMAT, time.gmtime(end))
    found = [fragment.path for fragment in dataset.get_fragments(filter=window)]
    # While a segment is sealed, it may be listed under two names: the most finished one is read.
    by_stem: dict[str, str] = {}
    for path in sorted(found, key=_rank):
        by_stem[_stem(path)] = path
    return sorted(by_stem.values())


_SUFFIXES = (OPEN_SUFFIX, SEALED_SUFFIX, CLOSED_SUFFIX)  # in the order a segment is renamed: open, closed, sealed


def _stem(path: str) -> str:
    return next((path.removesuffix(suffix) for suffix in _SUFFIXES if path.endswith(suffix)), path)


def _rank(path: str) -> int:
    return 2 if path.endswith(SEALED_SUFFIX) else 1 if path.endswith(CLOSED_SUFFIX) else 0


def _read_segment(filesystem: Any, path: str) -> tuple[str, bytes] | None:
    """A segment's path and bytes (decompressed): if it was closed or sealed meanwhile, under its next name."""
    stem = _stem(path)
    names = [path] + [stem + suffix for suffix in (CLOSED_SUFFIX, SEALED_SUFFIX) if _rank(stem + suffix) > _rank(path)]
    for name in names:
        try:
            return name, _read(filesystem, name)
        except FileNotFoundError:
            continue
    return None  # shipped and deleted while this reader ran: it is at the upload's destination


def _read(filesystem: Any, path: str) -> bytes:
    with filesystem.open_input_stream(path, compression=None) as stream:
        data = stream.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def _lines(data: bytes, open_segment: bool) -> Iterator[bytes]:
    """The non-empty lines of `data`; an open segment's last line is left out unless it ends (a writer may be at it)."""
    lines = data.split(b"\n")
    if open_segment:
        lines.pop()  # after the last newline: empty, or a line being written (or cut by a crash)
    yield from (line for line in lines if line.strip())


def latest_per_user(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per id with an outcome (`has_outcome`): its latest by `time`, so a user who asked again counts once.

    The one rule for who counts, shared by the rollout report and the monitor.
    """
    labelled = rows[rows["has_outcome"]]
    return labelled.sort_values("time", kind="stable").drop_duplicates("id", keep="last")
