"""The Open Inference Protocol's wire format (serving/oip.py), without a server: what the clients' tests do not reach."""

from __future__ import annotations

import dataclasses
import json
import struct

import msgspec
import numpy as np
import pytest

from lockstep.config import Task
from lockstep.contract.model_contract import ModelContract
from lockstep.serving.oip import (
    output_tensors,
    output_types,
    read_infer_body,
    requested_outputs,
)
from lockstep.serving.requests import BadRequestError


def _binary_body(tensors: list[tuple[str, str, bytes]], **document: object) -> tuple[bytes, str]:
    """A body with the binary tensor data extension: the JSON header, then each tensor's bytes; and its length."""
    inputs = [
        {"name": name, "datatype": datatype, "shape": [-1], "parameters": {"binary_data_size": len(raw)}}
        for name, datatype, raw in tensors
    ]
    header = json.dumps({"inputs": inputs, **document}).encode()
    return header + b"".join(raw for _, _, raw in tensors), str(len(header))


def _strings(*values: str) -> bytes:
    return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)


def test_binary_inputs_are_read_in_order_with_nan_as_missing_and_given_to_the_shadow_as_json() -> None:
    body, length = _binary_body(
        [
            ("income", "FP64", np.array([1.5, np.nan]).tobytes()),
            ("age", "INT64", np.array([41, 42], dtype="<i8").tobytes()),
            ("kind", "BYTES", _strings("rent", "own")),
            ("flag", "BOOL", np.array([True, False]).tobytes()),
        ]
    )
    infer = read_infer_body(body, length)
    assert [tensor["data"] for tensor in infer.document["inputs"]] == [
        [1.5, None],
        [41, 42],
        ["rent", "own"],
        [True, False],
    ]
    assert msgspec.json.decode(infer.json) == infer.document


def test_nan_tokens_are_null_outside_strings_only_and_plain_json_is_passed_on_as_it_came() -> None:
    body = b'{"id": "NaN", "inputs": [{"name": "x", "datatype": "FP64", "shape": [3], "data": [NaN, 1.0, -NaN]}]}'
    infer = read_infer_body(body, None)
    assert (infer.document["id"], infer.document["inputs"][0]["data"]) == ("NaN", [None, 1.0, None])
    plain = b'{"inputs": []}'
    assert read_infer_body(plain, None).json is plain


@pytest.mark.parametrize(
    ("tensors", "length", "message"),
    [
        ([("x", "FP64", b"\0" * 12)], None, "x: 12 bytes are not whole FP64 values"),
        ([("x", "BYTES", b"\5\0\0\0ab")], None, "x: a BYTES element runs past the tensor's data"),
        ([("x", "BYTES", b"\2\0\0\0\xff\xfe")], None, "x: a BYTES element is not UTF-8 text"),
        ([("x", "BF16", b"\0\0")], None, "x: no binary form known for datatype 'BF16'"),
        ([("x", "FP64", b"\0" * 8)], "99999", "inference-header-content-length must be a byte count"),
        ([("x", "FP64", b"\0" * 8)], "-1", "inference-header-content-length must be a byte count"),
    ],
)
def test_a_malformed_binary_body_is_a_400_naming_the_tensor(
    tensors: list[tuple[str, str, bytes]], length: str | None, message: str
) -> None:
    body, header_length = _binary_body(tensors)
    with pytest.raises(BadRequestError) as refused:
        read_infer_body(body, header_length if length is None else length)
    assert refused.value.status == 400
    assert str(refused.value).startswith(message)


def test_bytes_after_the_binary_inputs_or_a_short_body_are_refused() -> None:
    body, length = _binary_body([("x", "FP64", b"\0" * 8)])
    with pytest.raises(BadRequestError, match="8 bytes follow the inputs' binary data"):
        read_infer_body(body + b"\0" * 8, length)
    with pytest.raises(BadRequestError, match="does not fit the 4 bytes left"):
        read_infer_body(body[:-4], length)


def test_the_label_is_the_class_text_or_a_regression_number_in_json_and_in_binary(contract: ModelContract) -> None:
    outputs = {"score": [0.25, 0.75], "label": [0, 1]}
    assert output_types(contract) == [("score", "FP64"), ("label", "BYTES")]
    tensors, binary = output_tensors(outputs, [("score", False), ("label", True)], contract)
    assert tensors == [
        {"name": "score", "datatype": "FP64", "shape": [2], "data": [0.25, 0.75]},
        {"name": "label", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 10}},
    ]
    assert binary == _strings("0", "1")
    regression = dataclasses.replace(contract, task=Task.REGRESSION, classes=None)
    assert output_types(regression) == [("label", "FP64")]
    tensors, binary = output_tensors({"label": [1.5, 2.5]}, [("label", True)], regression)
    assert (tensors[0]["datatype"], binary) == ("FP64", np.array([1.5, 2.5]).tobytes())


def test_requested_outputs_follow_the_request_and_its_parameters(contract: ModelContract) -> None:
    assert requested_outputs({}, contract) == [("score", False), ("label", False)]
    assert requested_outputs({"parameters": {"binary_data_output": True}}, contract) == [
        ("score", True),
        ("label", True),
    ]
    asked = {"outputs": [{"name": "label", "parameters": {"binary_data": True}}, {"name": "score"}]}
    assert requested_outputs(asked, contract) == [("label", True), ("score", False)]
    for bad in ({"outputs": [{"name": "colour"}]}, {"outputs": "label"}):
        with pytest.raises(BadRequestError, match="outputs must name some of score, label"):
            requested_outputs(bad, contract)
    with pytest.raises(BadRequestError, match="classification extension"):
        requested_outputs({"outputs": [{"name": "label", "parameters": {"classification": 2}}]}, contract)
