"""The OpenAPI description of the whole API, generated from the served model's contract.

Every endpoint, with its body and each answer it can give: ours carry errors as
`{"errors": [...]}`, each problem naming its row, field and rule; the Open
Inference Protocol's as `{"error": "..."}`. A schemathesis run holds the server
to it (tests/unit/serving/test_openapi_schemathesis.py): a body the schema takes
is answered, one it refuses is refused, and nothing gets a 5xx.
"""

from __future__ import annotations

import sys
from typing import Any

from .. import PACKAGE, __version__
from ..config import RolloutConfig, Task
from ..contract.model_contract import InputColumn, ModelContract
from ..contract.outputs import LABEL, score_columns
from .http import MAX_BODY_BYTES
from .requests import MAX_DEPTH, MAX_RECORDS, V2_DATATYPES

JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "category": "string", "string": "string"}
# A number beyond these is not finite once read as a float, and is refused.
LARGEST = sys.float_info.max
ERRORS = {
    400: f"not JSON, not UTF-8, nested over {MAX_DEPTH} deep, or not the endpoint's shape",
    401: "no valid admin token (`Authorization: Bearer <token>`)",
    404: "no such model or version; for /admin, the admin endpoints are off (no token set)",
    408: "the client stopped sending its headers or body",
    413: f"a body over {MAX_BODY_BYTES} bytes, or over {MAX_RECORDS} records",
    422: "a value breaks the contract, or the body is not the endpoint's shape",
    500: "the server failed (counted in /metrics as server_errors_total)",
}
STRING = {"type": "string"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def _value(rule: InputColumn) -> dict[str, Any]:
    """What one value of `rule`'s column may be, as the contract checks it."""
    schema: dict[str, Any] = {"type": [JSON_TYPES[rule.dtype], "null"] if rule.nullable else JSON_TYPES[rule.dtype]}
    if rule.numeric:
        schema["minimum"] = rule.min if rule.min is not None else -LARGEST
        schema["maximum"] = rule.max if rule.max is not None else LARGEST
    if rule.allowed is not None:
        schema["enum"] = [*rule.allowed, None] if rule.nullable else rule.allowed
    return schema


def _answers(
    ok: str, content: dict[str, Any], errors: list[int], error: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An operation's responses: 200 with `content`, and each status in `errors` with the error shape `error`."""
    responses: dict[str, Any] = {"200": {"description": ok, "content": content}}
    if headers:
        responses["200"]["headers"] = headers
    for status in errors:
        shape = _ref(error)
        if status == 408 and error != "Errors":  # a 408 for headers comes before any route is known: in our shape
            shape = {"anyOf": [shape, _ref("Errors")]}
        responses[str(status)] = {"description": ERRORS[status], "content": _json(shape)}
    return responses


def _operation(summary: str, responses: dict[str, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    return operation


def _path_parameters(*names: tuple[str, list[str]]) -> list[dict[str, Any]]:
    """Path parameters, each with the values the server answers 200 for (any other: 404)."""
    return [
        {"name": name, "in": "path", "required": True, "schema": STRING | {"enum": values}} for name, values in names
    ]


def _schemas(contract: ModelContract) -> dict[str, Any]:
    """The bodies, by name."""
    record = {name: _value(rule) for name, rule in ((rule.name, rule) for rule in contract.columns)}
    if contract.id_column:
        record[contract.id_column] = {"description": "any JSON value: the row's id, echoed back as `id`"}
    record |= {name: {"description": "a column the model does not use: ignored"} for name in contract.dropped}
    label = {"type": "number"} if contract.task == Task.REGRESSION else {"enum": contract.classes}
    outcome = {"type": "number", "minimum": -LARGEST, "maximum": LARGEST} if contract.task == Task.REGRESSION else label
    scores = {name: {"type": "number"} for name in score_columns(contract)}
    outputs = [*score_columns(contract), LABEL]
    problem = _object({"row": {"type": "integer"}, "field": STRING, "rule": STRING, "message": STRING})
    tensors = [
        _object(
            {
                "name": {"const": rule.name},
                "datatype": {"const": V2_DATATYPES[rule.dtype]},
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 2},
                "data": {"type": "array", "items": _value(rule)},
                "parameters": {"type": "object"},
            },
            optional=("data", "parameters"),
        )
        for rule in contract.columns
    ]
    output = _object(
        {"name": STRING, "datatype": STRING, "shape": {"type": "array", "items": {"type": "integer"}}}
        | {"data": {"type": "array"}, "parameters": {"type": "object"}},
        optional=("data", "parameters"),
    )
    rollout = RolloutConfig.model_json_schema(ref_template="#/components/schemas/{model}")
    return rollout.pop("$defs", {}) | {
        "Record": {"type": "object", "properties": record, "required": contract.feature_names}
        | {"additionalProperties": False},
        "Prediction": _object({"id": {}} | scores | {"label": label}),
        "Predictions": _object(
            {"arm": STRING, "model_version": STRING, "model_sha256": STRING}
            | {"predictions": {"type": "array", "items": _ref("Prediction")}}
        ),
        "Outcome": _object({"id": {"type": ["string", "integer"]}, "outcome": outcome})
        | {"additionalProperties": False},
        "Errors": _object({"errors": {"type": "array", "items": problem, "minItems": 1}}),
        "OipError": _object({"error": STRING}),
        "InferRequest": _object(
            {
                "id": STRING,
                "parameters": {"type": "object"},
                "inputs": {"type": "array", "items": {"oneOf": tensors}, "minItems": len(tensors)},
                "outputs": {
                    "type": "array",
                    "items": _object(
                        {"name": {"enum": outputs}, "parameters": {"type": "object"}}, optional=("parameters",)
                    ),
                },
            },
            optional=("id", "parameters", "outputs"),
        ),
        "InferResponse": _object(
            {"model_name": STRING, "model_version": STRING, "id": STRING}
            | {"parameters": _object({"model_sha256": STRING, "arm": STRING})}
            | {"outputs": {"type": "array", "items": output}}
        ),
        "ModelMetadata": _object(
            {"name": STRING, "versions": {"type": "array", "items": STRING}, "platform": STRING}
            | {"inputs": {"type": "array", "items": output}, "outputs": {"type": "array", "items": output}}
        ),
        "RolloutConfig": rollout,
    }


def _ours() -> dict[str, Any]:
    """POST /v1/predict and /v1/feedback."""
    predict = {"oneOf": [_ref("Record"), {"type": "array", "items": _ref("Record"), "maxItems": MAX_RECORDS}]}
    feedback = {"oneOf": [_ref("Outcome"), {"type": "array", "items": _ref("Outcome"), "minItems": 1}]}
    headers = {
        "x-request-id": {"description": "the client's x-request-id, or one the server made", "schema": STRING},
        "x-model-arm": {"description": "the arm that answered: prod, canary, ...", "schema": STRING},
    }
    recorded = _json(_object({"recorded": {"type": "integer"}}))
    bad = [400, 408, 413, 422, 500]
    return {
        "/v1/predict": {
            "post": _operation(
                "Predict one record or a list of records (an empty list gets no predictions)",
                _answers("the predictions, in the records' order", _json(_ref("Predictions")), bad, "Errors", headers),
                predict,
            )
        },
        "/v1/feedback": {
            "post": _operation(
                "Record late outcomes against the ids of predictions",
                _answers("how many outcomes were recorded", recorded, bad, "Errors"),
                feedback,
            )
        },
    }


def _oip(name: str, versions: list[str]) -> dict[str, Any]:
    """The Open Inference Protocol's endpoints, each for the model and for one of its versions."""
    named = _path_parameters(("name", [name]))
    versioned = _path_parameters(("name", [name]), ("version", versions))
    # With `binary_data_output` (the binary tensor data extension), the JSON is followed by the outputs' bytes.
    outputs = _json(_ref("InferResponse")) | {"application/octet-stream": {"schema": STRING | {"format": "binary"}}}
    infer = _operation(
        "Score rows sent as one tensor per column, in JSON or with the binary tensor data extension",
        _answers("the outputs, one tensor each", outputs, [400, 404, 408, 413, 422, 500], "OipError"),
        _ref("InferRequest"),
    )
    metadata = _operation(
        "The model's inputs and outputs", _answers("metadata", _json(_ref("ModelMetadata")), [404, 500], "OipError")
    )
    ready = _operation(
        "Whether the model is ready (it is whenever the server answers)",
        _answers("ready", _json(_object({"name": STRING, "ready": {"type": "boolean"}})), [404, 500], "OipError"),
    )
    paths = {}
    for prefix, parameters in (("/v2/models/{name}", named), ("/v2/models/{name}/versions/{version}", versioned)):
        paths[prefix] = {"get": metadata, "parameters": parameters}
        paths[f"{prefix}/ready"] = {"get": ready, "parameters": parameters}
        paths[f"{prefix}/infer"] = {"post": infer, "parameters": parameters}
    server = _object({"name": STRING, "version": STRING, "extensions": {"type": "array", "items": STRING}})
    health = {
        "/v2/health/live": ("The server is live", _object({"live": {"type": "boolean"}})),
        "/v2/health/ready": (
            "A verified model is loaded",
            _object({"ready": {"type": "boolean"}, "model_version": STRING}),
        ),
        "/v2": ("The server's name, version and protocol extensions", server),
    }
    for path, (summary, schema) in health.items():
        paths[path] = {"get": _operation(summary, _answers(summary, _json(schema), [500], "OipError"))}
    return paths


def _service() -> dict[str, Any]:
    """/metrics, /openapi.json and the admin endpoints."""
    text = {"text/plain": {"schema": STRING}}
    admin_errors = [400, 401, 404, 408, 413, 422, 500]
    swapped = _object({"model_version": STRING, "model_sha256": STRING, "previous": STRING})
    arms = {"type": "object", "additionalProperties": STRING}
    # prod_only: the rollout's candidate stage is empty, so prod answers alone (routing.RoutingTable.prod_only)
    routed = _object({"rollout": _ref("RolloutConfig"), "arms": arms, "prod_only": STRING}, optional=("prod_only",))
    admin = [{"admin": []}]
    return {
        "/metrics": {"get": _operation("Prometheus metrics", _answers("the metrics", text, [500], "Errors"))},
        "/openapi.json": {
            "get": _operation("This document", _answers("OpenAPI 3.1", _json({"type": "object"}), [500], "Errors"))
        },
        "/admin/model": {
            "post": _operation(
                "Serve another version as prod (verified first); the rollout stays",
                _answers("the version now served, and the one before", _json(swapped), admin_errors, "Errors"),
                _object({"model": STRING | {"description": "a bundle folder, a version or a stage"}}),
            )
            | {"security": admin}
        },
        "/admin/rollout": {
            "post": _operation(
                "Route by another rollout (its candidate loaded and verified first)",
                _answers("the rollout and the version of each arm", _json(routed), admin_errors, "Errors"),
                _ref("RolloutConfig"),
            )
            | {"security": admin}
        },
    }


def openapi_document(
    contract: ModelContract, version: str, name: str = "model", versions: list[str] | None = None
) -> dict[str, Any]:
    """OpenAPI 3.1 for every endpoint, as the server answers with `contract` (prod's) and `versions` (every arm's)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{PACKAGE} model API", "version": __version__, "description": f"model version {version}"},
        "paths": _ours() | _oip(name, versions or [version]) | _service(),
        "components": {
            "schemas": _schemas(contract),
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        },
    }
