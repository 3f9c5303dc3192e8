"""The OpenAPI description of the API, generated from the model's contract."""

from __future__ import annotations

from typing import Any

from .. import PACKAGE, __version__
from ..contract.model_contract import InputColumn, ModelContract
from ..contract.outputs import score_columns

JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "category": "string", "string": "string"}


def _property(rule: InputColumn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": [JSON_TYPES[rule.dtype], "null"] if rule.nullable else JSON_TYPES[rule.dtype]}
    if rule.min is not None:
        schema["minimum"] = rule.min
    if rule.max is not None:
        schema["maximum"] = rule.max
    if rule.allowed is not None:
        schema["enum"] = rule.allowed
    return schema


def openapi_document(contract: ModelContract, version: str) -> dict[str, Any]:
    """OpenAPI 3.1 for `POST /v1/predict` with this contract's record schema."""
    properties = {rule.name: _property(rule) for rule in contract.columns}
    if contract.id_column:
        properties[contract.id_column] = {"description": "echoed back as `id`"}
    record = {
        "type": "object",
        "properties": properties,
        "required": contract.feature_names,
        "additionalProperties": False,
    }
    prediction = {
        "type": "object",
        "properties": {"id": {}, "label": {}} | {name: {"type": "number"} for name in score_columns(contract)},
    }
    error = {
        "type": "object",
        "properties": {
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {k: {"type": "string"} for k in ("field", "rule", "message")}
                    | {"row": {"type": "integer"}},
                },
            }
        },
    }
    responses = {
        "200": {
            "description": "predictions",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "model_version": {"type": "string"},
                            "model_sha256": {"type": "string"},
                            "predictions": {"type": "array", "items": prediction},
                        },
                    }
                }
            },
        },
        "400": {"description": "malformed JSON", "content": {"application/json": {"schema": error}}},
        "422": {"description": "a field breaks the contract", "content": {"application/json": {"schema": error}}},
    }
    body = {
        "oneOf": [
            {"$ref": "#/components/schemas/Record"},
            {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
        ]
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{PACKAGE} model API", "version": __version__, "description": f"model version {version}"},
        "paths": {
            "/v1/predict": {
                "post": {
                    "summary": "Predict one record or a list of records",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                    "responses": responses,
                }
            }
        },
        "components": {"schemas": {"Record": record}},
    }
