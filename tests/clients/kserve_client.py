"""The kserve SDK's InferenceRESTClient against a running server: run in the SDK's own environment, not the project's.

Usage: python kserve_client.py BASE_URL ROWS_JSON. ROWS_JSON holds the model's
inputs as the server's metadata describes them, `[{"name", "datatype",
"values"}]`, with null for a missing number. Prints one JSON object: the health
answers, the outputs of inferences with binary inputs (the SDK's default), with
JSON inputs, and with binary outputs too, and the errors' statuses and bodies. The client's one setting
that is not its default is the protocol, "v2" (its default is v1).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

NUMPY_TYPES = {"INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_, "BYTES": np.object_}


def inputs(columns: list[dict[str, Any]], binary: bool) -> list[InferInput]:
    """One tensor per column (NaN for a missing number): binary via `set_data_from_numpy`'s default, or JSON."""
    tensors = []
    for column in columns:
        values = np.array(column["values"], dtype=NUMPY_TYPES[column["datatype"]])
        tensor = InferInput(column["name"], list(values.shape), column["datatype"])
        if binary:
            tensor.set_data_from_numpy(values)
        else:
            tensor.set_data_from_numpy(values, binary_data=False)
        tensors.append(tensor)
    return tensors


async def infer(
    client: InferenceRESTClient, base: str, model: str, tensors: list[InferInput], **parameters: Any
) -> dict[str, Any]:
    """The outputs by name (datatype and data), or the error's status and JSON body."""
    request = InferRequest(model_name=model, infer_inputs=tensors, parameters=parameters or None)
    try:
        response = await client.infer(base, request, model_name=model)
    except httpx.HTTPStatusError as error:
        return {"status": error.response.status_code, "body": error.response.json()}
    return {"outputs": {o.name: {"datatype": o.datatype, "data": list(o.data)} for o in response.outputs}}


async def main(base: str, columns: list[dict[str, Any]]) -> dict[str, Any]:
    client = InferenceRESTClient(RESTConfig(protocol="v2"))
    missing = [c | {"values": [None, *c["values"][1:]]} if c["name"] == "credit_history_years" else c for c in columns]
    try:
        return {
            "server_live": await client.is_server_live(base),
            "server_ready": await client.is_server_ready(base),
            "model_ready": await client.is_model_ready(base, "model"),
            "other_ready": await client.is_model_ready(base, "other"),
            "binary": await infer(client, base, "model", inputs(columns, binary=True)),
            "json": await infer(client, base, "model", inputs(columns, binary=False)),
            "binary_outputs": await infer(client, base, "model", inputs(columns, True), binary_data_output=True),
            "unknown_model": await infer(client, base, "other", inputs(columns, binary=True)),
            "missing_where_none_is_allowed": await infer(client, base, "model", inputs(missing, binary=True)),
        }
    finally:
        await client.close()


if __name__ == "__main__":
    rows = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    print(json.dumps(asyncio.run(main(sys.argv[1], rows))))
