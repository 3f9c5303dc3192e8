"""Request bodies: from JSON bytes to checked, model-ready rows, or errors naming the field and the rule.

Two shapes are accepted: ours (`POST /v1/predict`: one record, or a list of
records) and the Open Inference Protocol v2 (`inputs`: one named tensor per
column). Both end in the same contract check as batch scoring; nothing is
coerced (a string is never read as a number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from ..contract.model_contract import InputColumn, ModelContract
from ..contract.rows import Problem, check_record_fields, check_rows, record_columns

MAX_RECORDS = 10_000
# How deeply a body's arrays and objects may nest: ours need 3 (a list of records of values), the OIP's 4.
MAX_DEPTH = 32
V2_DATATYPES = {"int": "INT64", "float": "FP64", "bool": "BOOL", "category": "BYTES", "string": "BYTES"}


class BadRequestError(Exception):
    """A request the API refuses: the HTTP status and the problems, each naming a field and a rule."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        super().__init__(problems[0].message)
        self.status = status
        self.problems = problems

    @classmethod
    def single(cls, field: str, rule: str, message: str, status: int = 422, row: int = -1) -> BadRequestError:
        """A refusal for one reason."""
        return cls(status, [Problem(row, field, rule, message)])

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"errors": [problem.to_dict() for problem in self.problems]}


_refuse = BadRequestError.single


@dataclass(frozen=True)
class CheckedRequests:
    """Several requests' rows, checked in one pass: the accepted requests' rows, and each request's fate."""

    columns: dict[str, np.ndarray]  # model-ready rows of the accepted requests, in request order
    outcomes: list[slice | BadRequestError]  # per request: its rows in `columns`, or why it was refused

    @property
    def rows(self) -> int:
        """How many rows were accepted."""
        return len(next(iter(self.columns.values()))) if self.columns else 0


def decode(body: bytes) -> Any:
    """The JSON document in `body`, or a 400 saying why it is not one.

    The encoding and the nesting are checked before msgspec reads it: on invalid
    UTF-8 it raises UnicodeDecodeError, and on deep nesting RecursionError, at a
    depth that depends on how deep Python's stack already is.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"the body is not valid JSON: it is not UTF-8 (byte {body[exc.start]:#04x} at position {exc.start})"
        raise _refuse("$", "malformed_json", message, status=400) from None
    # Too few brackets to nest deeper than the limit: no need to scan.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and (depth := nesting_depth(body)) > MAX_DEPTH:
        message = f"the body nests arrays and objects {depth} levels deep; at most {MAX_DEPTH} are read"
        raise _refuse("$", "too_deep", message, status=400)
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise _refuse("$", "malformed_json", f"the body is not valid JSON: {exc}", status=400) from None


def nesting_depth(body: bytes) -> int:
    """How deeply the arrays and objects of the JSON text `body` nest (brackets inside strings do not count).

    NumPy over the bytes: a few milliseconds for a body of 10,000 records. Not
    JSON (unbalanced brackets) gives some number, and msgspec then refuses it.
    """
    codes = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(codes == ord('"'))
    backslashes = np.flatnonzero(codes == ord("\\"))
    if quotes.size and backslashes.size:  # a quote after an odd run of backslashes is escaped: not a string's end
        after = quotes[(quotes > 0) & (codes[quotes - 1] == ord("\\"))]
        run_starts = np.ones(backslashes.size, dtype=bool)
        run_starts[1:] = np.diff(backslashes) != 1
        run_start = np.maximum.accumulate(np.where(run_starts, np.arange(backslashes.size), 0))
        last = np.searchsorted(backslashes, after - 1)
        escaped = after[(last - run_start[last]) % 2 == 0]
        kept = np.ones(quotes.size, dtype=bool)
        kept[np.searchsorted(quotes, escaped)] = False
        quotes = quotes[kept]
    brackets = np.flatnonzero(np.isin(codes, np.frombuffer(b"[]{}", dtype=np.uint8)))
    brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]  # after an even number of quotes: outside strings
    opens = np.isin(codes[brackets], np.frombuffer(b"[{", dtype=np.uint8))
    return int(np.cumsum(np.where(opens, 1, -1)).max(initial=0))


def records_from_v1(document: Any) -> list[dict[str, Any]]:
    """`POST /v1/predict`: one record (an object) or a list of records."""
    records = [document] if isinstance(document, dict) else document
    if not isinstance(records, list):
        raise _refuse("$", "type", "the body must be a record (a JSON object) or a list of records")
    strays = [
        Problem(row, f"$[{row}]", "type", f"record {row} is not a JSON object")
        for row, record in enumerate(records)
        if not isinstance(record, dict)
    ]
    if strays:
        raise BadRequestError(422, strays)
    return records


def records_from_v2(document: Any, contract: ModelContract) -> list[dict[str, Any]]:
    """Open Inference Protocol v2: `{"inputs": [{"name", "shape", "datatype", "data"}, ...]}` as records."""
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise _refuse("inputs", "missing", "the body must be an object with an `inputs` list of tensors")
    rules = {rule.name: rule for rule in contract.columns}
    columns: dict[str, list[Any]] = {}
    for index, tensor in enumerate(document["inputs"]):
        name = tensor.get("name") if isinstance(tensor, dict) else None
        if not isinstance(name, str):
            raise _refuse(f"inputs[{index}]", "type", f"inputs[{index}] must be an object with a string `name`")
        columns[name] = _tensor_data(tensor, name, rules.get(name), contract)
    lengths = {len(data) for data in columns.values()}
    if len(lengths) > 1:
        raise _refuse("inputs", "shape", "every input tensor must hold the same number of rows")
    rows = lengths.pop() if lengths else 0
    return [{name: data[row] for name, data in columns.items()} for row in range(rows)]


def _tensor_data(tensor: dict[str, Any], name: str, rule: InputColumn | None, contract: ModelContract) -> list[Any]:
    data, shape, datatype = tensor.get("data"), tensor.get("shape"), tensor.get("datatype")
    if not isinstance(data, list) or not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
        raise _refuse(name, "type", f"{name}: a tensor needs `shape` (a list of integers) and `data` (a list)")
    size = 1
    for n in shape:
        size *= n
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1) or size != len(data):
        raise _refuse(name, "shape", f"{name}: shape {shape} does not fit {len(data)} values; use [rows] or [rows, 1]")
    expected = V2_DATATYPES[rule.dtype] if rule else None  # an id, or an unknown field (refused later)
    if expected is not None and datatype != expected:
        raise _refuse(name, "datatype", f"{name}: datatype must be {expected}, not {datatype!r}")
    return data


def sized(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`records`, unless there are none (422) or more than MAX_RECORDS (413)."""
    if not records:
        raise _refuse("$", "empty", "no records to predict")
    if len(records) > MAX_RECORDS:
        raise _refuse("$", "too_many", f"{len(records)} records in one request; send at most {MAX_RECORDS}", 413)
    return records


def check_requests(requests: list[list[dict[str, Any]]], contract: ModelContract) -> CheckedRequests:
    """Check the records of several requests against the contract in one pass.

    The contract's checks cost about as much for one row as for a thousand, so
    the micro-batcher checks everything waiting at once. A request passes whole,
    or is refused (422) with every problem of its rows, numbered from its own
    first row: its unknown and missing fields, and each value that breaks its
    column's rule (a missing field is listed once, as missing). The other
    requests are not affected.
    """
    problems = {
        index: found for index, records in enumerate(requests) if (found := check_record_fields(records, contract))
    }
    missing = {(index, p.row, p.field) for index, found in problems.items() for p in found if p.rule == "missing"}
    starts = np.cumsum([0] + [len(records) for records in requests])
    records = [record for records in requests for record in records]
    if not records:  # no rows, no problems
        return CheckedRequests({}, [slice(0)] * len(requests))
    columns = record_columns(records, contract)
    checked = check_rows(columns, contract)
    for problem in checked.problems:
        owner = int(np.searchsorted(starts, problem.row, side="right")) - 1
        local = problem.row - int(starts[owner])
        if (owner, local, problem.field) not in missing:
            problems.setdefault(owner, []).append(Problem(local, problem.field, problem.rule, problem.message))
    outcomes: list[slice | BadRequestError] = []
    next_row = 0
    for index, request in enumerate(requests):
        if index in problems:
            outcomes.append(BadRequestError(422, sorted(problems[index], key=lambda problem: problem.row)))
        else:
            outcomes.append(slice(next_row, next_row + len(request)))
            next_row += len(request)
    if not problems:
        return CheckedRequests(checked.columns, outcomes)
    # Rows of a refused request are not scored, even those that passed.
    owners = np.searchsorted(starts, checked.positions, side="right") - 1
    accepted = ~np.isin(owners, list(problems))
    return CheckedRequests({name: values[accepted] for name, values in checked.columns.items()}, outcomes)


def row_ids(records: list[dict[str, Any]], contract: ModelContract, request_id: str) -> list[Any]:
    """Each record's id as logged: its id column's value, or `<request_id>:<i>` where it has none."""
    given = [record.get(contract.id_column) for record in records] if contract.id_column else [None] * len(records)
    return [f"{request_id}:{i}" if row_id is None else row_id for i, row_id in enumerate(given)]
