"""The Open Inference Protocol's wire format: request bodies, the binary tensor data extension, outputs and errors.

A request is JSON, or (the binary tensor data extension, which tritonclient and
the kserve SDK use by default) a JSON header of `Inference-Header-Content-Length`
bytes followed by each input's values, in input order, for the inputs whose
`parameters.binary_data_size` says how many bytes they take. Numbers are
little-endian; a BYTES element is a 4-byte little-endian length, then the bytes.
Outputs are sent the same way when `parameters.binary_data_output` (the request)
or an output's own `parameters.binary_data` asks for it.

A missing number travels as NaN, as a NumPy float column holds it: a binary
NaN, or the `NaN` token that tritonclient's JSON writes (not JSON, so it is
read as null here). Either is a missing value, refused where the contract
allows none, and nowhere else but in a request's inputs.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ..config import Task
from ..contract.model_contract import ModelContract
from ..contract.outputs import LABEL, score_columns
from ..registry import PROD
from ..registry.store import ModelVersion
from .requests import V2_DATATYPES, BadRequestError, decode
from .routing import RoutingTable

HEADER_LENGTH = "inference-header-content-length"
EXTENSIONS = ["binary_tensor_data"]
# The fixed-size datatypes as NumPy reads them (BYTES is length-prefixed): all of them, so a tensor of the
# wrong type is read, and then refused by the contract's check naming the type it wants.
FIXED_TYPES = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
# A JSON string (kept as it is), or a NaN token outside one (read as null).
_NAN_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|-?NaN')

_refuse = BadRequestError.single


@dataclass(frozen=True)
class InferBody:
    """An inference request as read: its document (binary inputs read into `data`), and that document as JSON."""

    document: Any
    json: bytes  # what the shadow's process decodes: the body itself when it was plain JSON, else written anew


def read_infer_body(body: bytes, header_length: str | None) -> InferBody:
    """The request in `body`, whose JSON header is `header_length` bytes long (None: all of it), or a 400."""
    header, binary = body, b""
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            message = f"{HEADER_LENGTH} must be a byte count of at most the body's {len(body)}, not {header_length!r}"
            raise _refuse("$", "binary_data", message, 400)
        header, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        document, plain = decode(header), True
    except BadRequestError:
        if b"NaN" not in header:
            raise
        document, plain = decode(_NAN_TOKEN.sub(_null_if_nan, header)), False
    read = _read_binary_inputs(document, binary)
    if plain and not read and header_length is None:
        return InferBody(document, body)
    return InferBody(document, msgspec.json.encode(document))


def _null_if_nan(match: re.Match[bytes]) -> bytes:
    return match[0] if match[0].startswith(b'"') else b"null"


def _read_binary_inputs(document: Any, binary: bytes) -> bool:
    """Put each binary input's values into its `data`; whether any input was binary. Every byte must be one's."""
    tensors = document.get("inputs") if isinstance(document, dict) else None
    offset, read = 0, False
    for tensor in tensors if isinstance(tensors, list) else []:
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is None:
            continue
        name = str(tensor.get("name"))
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            message = f"{name}: binary_data_size {size!r} does not fit the {len(binary) - offset} bytes left"
            raise _refuse(name, "binary_data", message, 400)
        if "data" in tensor:
            raise _refuse(name, "binary_data", f"{name}: a tensor has `data` or binary_data_size, not both", 400)
        tensor["data"] = _values(binary[offset : offset + size], tensor.get("datatype"), name)
        offset, read = offset + size, True
    if offset != len(binary):
        raise _refuse("$", "binary_data", f"{len(binary) - offset} bytes follow the inputs' binary data", 400)
    return read


def _values(raw: bytes, datatype: Any, name: str) -> list[Any]:
    """One tensor's binary values as JSON values (a NaN as None: a missing value)."""
    if datatype == "BYTES":
        return _strings(raw, name)
    if datatype not in FIXED_TYPES:
        raise _refuse(name, "datatype", f"{name}: no binary form known for datatype {datatype!r}", 400)
    dtype = np.dtype(FIXED_TYPES[datatype])
    if len(raw) % dtype.itemsize:
        raise _refuse(name, "binary_data", f"{name}: {len(raw)} bytes are not whole {datatype} values", 400)
    array = np.frombuffer(raw, dtype)
    if dtype.kind == "f" and np.isnan(array).any():
        return [None if value != value else value for value in array.tolist()]
    return array.tolist()


def _strings(raw: bytes, name: str) -> list[str]:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes of UTF-8 text."""
    values, offset = [], 0
    while offset < len(raw):
        start = offset + 4
        end = start + struct.unpack_from("<I", raw, offset)[0] if start <= len(raw) else start
        if end > len(raw):
            raise _refuse(name, "binary_data", f"{name}: a BYTES element runs past the tensor's data", 400)
        try:
            values.append(raw[start:end].decode("utf-8"))
        except UnicodeDecodeError:
            raise _refuse(name, "binary_data", f"{name}: a BYTES element is not UTF-8 text", 400) from None
        offset = end
    return values


def output_types(contract: ModelContract) -> list[tuple[str, str]]:
    """Each output's name and datatype, as infer returns them: scores FP64; the label the class's text, or FP64."""
    label = "FP64" if contract.task == Task.REGRESSION else "BYTES"
    return [(name, "FP64") for name in score_columns(contract)] + [(LABEL, label)]


def requested_outputs(document: dict[str, Any], contract: ModelContract) -> list[tuple[str, bool]]:
    """The outputs a request asks for (all by default), each with whether it goes in binary; or a 400."""
    parameters = document.get("parameters")
    binary = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    known = [name for name, _ in output_types(contract)]
    asked = document.get("outputs")
    if asked is None:
        return [(name, binary) for name in known]
    if not isinstance(asked, list) or not all(isinstance(o, dict) and o.get("name") in known for o in asked):
        raise _refuse("outputs", "unknown_output", f"outputs must name some of {', '.join(known)}: {asked!r}", 400)
    chosen = []
    for output in asked:
        own = output.get("parameters") if isinstance(output.get("parameters"), dict) else {}
        if own.get("classification"):
            raise _refuse("outputs", "unsupported", "the classification extension is not supported", 400)
        chosen.append((output["name"], own.get("binary_data", binary) is True))
    return chosen


def output_tensors(
    outputs: dict[str, list[Any]], requested: list[tuple[str, bool]], contract: ModelContract
) -> tuple[list[dict[str, Any]], bytes]:
    """The response's output tensors, and the binary data that follows its JSON (empty if none is binary)."""
    types = dict(output_types(contract))
    tensors, chunks = [], []
    for name, binary in requested:
        values = [str(value) for value in outputs[name]] if types[name] == "BYTES" else outputs[name]
        tensor: dict[str, Any] = {"name": name, "datatype": types[name], "shape": [len(values)]}
        if binary:
            chunks.append(_binary(values, types[name]))
            tensor["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            tensor["data"] = values
        tensors.append(tensor)
    return tensors, b"".join(chunks)


def _binary(values: list[Any], datatype: str) -> bytes:
    if datatype == "BYTES":
        encoded = [value.encode("utf-8") for value in values]
        return b"".join(struct.pack("<I", len(element)) + element for element in encoded)
    return np.asarray(values, dtype=FIXED_TYPES[datatype]).tobytes()


def infer_response(answer: dict[str, Any], binary: bytes, headers: dict[str, str]) -> Response:
    """The inference response: JSON, or its JSON header followed by the binary outputs."""
    header = msgspec.json.encode(answer)
    if not binary:
        return Response(header, 200, headers, media_type="application/json")
    headers = headers | {HEADER_LENGTH: str(len(header))}
    return Response(header + binary, 200, headers, media_type="application/octet-stream")


def answering(table: RoutingTable) -> list[tuple[str, ModelVersion]]:
    """The arms that answer requests, and their versions: prod, and a canary or A/B candidate (never a shadow)."""
    arms = [(PROD, table.prod)]
    if table.candidate is not None and table.shadow is None and table.candidate_arm:
        arms.append((table.candidate_arm, table.candidate))
    return arms


def model_metadata(name: str, table: RoutingTable, loaded: ModelVersion) -> dict[str, Any]:
    """The model's metadata as `loaded` (the version a path names, else prod) takes and gives its tensors."""
    contract = loaded.contract
    return {
        "name": name,
        "versions": [version.version for _, version in answering(table)],
        "platform": "scikit-learn",
        "inputs": [{"name": r.name, "datatype": V2_DATATYPES[r.dtype], "shape": [-1]} for r in contract.columns],
        "outputs": [{"name": n, "datatype": datatype, "shape": [-1]} for n, datatype in output_types(contract)],
    }


def error_body(error: BadRequestError) -> dict[str, str]:
    """The protocol's error object: every problem's message (with its row, if it has one) in one string."""
    return {"error": "; ".join(f"row {p.row}: {p.message}" if p.row >= 0 else p.message for p in error.problems)}


def named_version(request: Request, served_name: str, table: RoutingTable) -> tuple[str, ModelVersion] | None:
    """The arm and version that a /v2/models path names (None: it names no version), or a 404."""
    name, version = request.path_params["name"], request.path_params.get("version")
    if name != served_name:
        message = f"no model {name!r}; this server serves {served_name!r}"
        raise BadRequestError.single("name", "unknown_model", message, 404)
    if version is None:
        return None
    arms = answering(table)
    for arm, loaded in arms:
        if loaded.version == version:
            return arm, loaded
    served = ", ".join(loaded.version for _, loaded in arms)
    message = f"no version {version!r} of model {name!r}; this server serves {served}"
    raise BadRequestError.single("version", "unknown_version", message, 404)
