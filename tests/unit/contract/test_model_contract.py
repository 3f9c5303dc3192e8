from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from lockstep.config import Params
from lockstep.contract import model_contract
from lockstep.contract.model_contract import ModelContract, read_contract
from lockstep.contract.rows import check_record_fields, check_rows
from lockstep.data.prepare import PreparedData
from lockstep.data.synthetic import generate_credit_data
from lockstep.data.validate import validate_table
from lockstep.errors import PipelineError
from lockstep.modeling.predict import predict_frame

from tests.shared import replace


def test_the_contract_carries_what_serving_needs(contract: ModelContract, prepared: PreparedData, cfg: Params) -> None:
    assert contract.feature_names == prepared.features.columns
    assert (contract.task, contract.target, contract.id_column) == ("binary", "default", "loan_id")
    assert (contract.classes, contract.positive_class) == ([0, 1], 1)
    assert contract.decision_threshold == cfg.evaluate.decision_threshold
    age = next(rule for rule in contract.columns if rule.name == "age")
    assert (age.dtype, age.min, age.max, age.nullable) == ("int", 18, 100, False)


def test_a_contract_survives_its_file(contract: ModelContract, tmp_path: Path) -> None:
    model_contract.write_contract(contract, tmp_path / "contract.json")
    assert read_contract(tmp_path / "contract.json") == contract


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not valid JSON"),
        ('{"format": 99}', "is not a format-1 model contract"),
        ('{"format": 1, "task": "binary"}', "is malformed"),
    ],
)
def test_a_bad_contract_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "contract.json").write_text(text)
    with pytest.raises(PipelineError, match=message):
        read_contract(tmp_path / "contract.json")


def test_an_unknown_dtype_in_a_contract_is_refused(contract: ModelContract, tmp_path: Path) -> None:
    raw = contract.to_dict()
    raw["columns"][0]["dtype"] = "complex"
    (tmp_path / "contract.json").write_text(json.dumps(raw))
    with pytest.raises(PipelineError, match="bad dtype"):
        read_contract(tmp_path / "contract.json")


def test_checked_rows_predict_exactly_as_the_raw_test_set(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    checked = check_rows(prepared.test, contract)
    assert checked.problems == []
    assert len(checked.inputs) == len(prepared.test)
    expected = predict_frame(trained, prepared.test.reset_index(drop=True), contract)
    pd.testing.assert_frame_equal(predict_frame(trained, checked.inputs, contract), expected, check_exact=True)


def _records(prepared: PreparedData, rows: int = 3) -> list[dict]:
    frame = prepared.test.head(rows).drop(columns=["default"]).astype(object)
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


@pytest.mark.parametrize(
    ("field", "value", "rule", "message"),
    [
        ("age", "41", "type", "age: '41' is not an integer"),
        ("age", True, "type", "age: True is not an integer"),
        ("age", 41.5, "type", "age: 41.5 is not an integer"),
        ("age", 17, "range", "age: 17 is below the minimum 18"),
        ("annual_income", [1], "type", "annual_income: [1] is not a number"),
        ("interest_rate", 1.5, "range", "interest_rate: 1.5 is above the maximum 1"),
        ("loan_term_months", 48, "category", "loan_term_months: 48 is not an allowed value (36, 60)"),
        ("employment_type", "astronaut", "category", "employment_type: 'astronaut' is not an allowed value"),
        ("employment_type", 3, "type", "employment_type: 3 is not a string"),
        ("home_ownership", None, "null", "home_ownership: null is null, but the field is required"),
    ],
)
def test_each_broken_rule_names_the_row_field_and_rule(
    prepared: PreparedData, contract: ModelContract, field: str, value: object, rule: str, message: str
) -> None:
    records = _records(prepared)
    records[1][field] = value
    checked = check_rows(pd.DataFrame.from_records(records), contract)
    assert [(p.row, p.field, p.rule) for p in checked.problems] == [(1, field, rule)]
    assert checked.problems[0].message.startswith(message)
    assert list(checked.positions) == [0, 2]


def test_text_values_are_parsed_only_in_text_mode(prepared: PreparedData, contract: ModelContract) -> None:
    records = _records(prepared)
    text = pd.DataFrame.from_records(records).astype(str).replace({"None": None})
    text.loc[2, "age"] = "forty"
    checked = check_rows(text, contract, text=True)
    assert [(p.row, p.field, p.rule) for p in checked.problems] == [(2, "age", "type")]
    assert checked.inputs["age"].tolist() == [float(r["age"]) for r in records[:2]]
    assert len(check_rows(text, contract).problems) > 3  # strings are not numbers in JSON


def test_a_nullable_number_may_be_null_and_is_imputed(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    records = _records(prepared)
    records[0]["annual_income"] = None
    checked = check_rows(pd.DataFrame.from_records(records), contract)
    assert checked.problems == []
    assert np.isnan(checked.inputs.loc[0, "annual_income"])
    assert predict_frame(trained, checked.inputs, contract)["score"].notna().all()


def test_unknown_and_missing_fields_are_named(prepared: PreparedData, contract: ModelContract) -> None:
    records = _records(prepared, 2)
    records[0]["default"] = 1
    del records[1]["age"]
    problems = check_record_fields(records, contract)
    assert [(p.row, p.field, p.rule) for p in problems] == [(0, "default", "unknown_field"), (1, "age", "missing")]


# Rows the training-time pandera schema refuses must be refused at serving time too, and the other way round.
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", 17),
        ("age", 101),
        ("age", None),
        ("annual_income", -1.0),
        ("employment_type", "astronaut"),
        ("home_ownership", None),
        ("loan_term_months", 48),
        ("interest_rate", 1.5),
        ("annual_income", None),  # nullable: both accept it
        ("credit_utilization", 2.0),  # the edge of the range: both accept it
    ],
)
def test_serving_rules_agree_with_the_training_schema(
    cfg: Params, contract: ModelContract, field: str, value: object
) -> None:
    table = generate_credit_data(1_200, seed=3).astype(object)
    table.loc[7, field] = value
    try:
        validate_table(table, cfg.data)
        trained_accepts = True
    except PipelineError:
        trained_accepts = False
    served = check_rows(table.drop(columns=["default"]), contract)
    assert trained_accepts == (served.problems == [])
    assert {p.row for p in served.problems} <= {7}


def test_the_threshold_and_positive_class_come_from_the_contract(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    inputs = check_rows(prepared.test, contract).inputs
    scored = predict_frame(trained, inputs, replace(contract, decision_threshold=0.3))
    assert ((scored["score"] >= 0.3) == (scored["label"] == 1)).all()


def test_the_contract_carries_the_model_file_s_trusted_types(contract: ModelContract, trusted_types: list[str]) -> None:
    assert contract.trusted_types == trusted_types
    assert contract.model_libraries == ["sklearn", "numpy", "scipy"]
    assert contract.dropped == []


def test_data_positive_class_is_the_contract_s_and_predict_frame_scores_it(cfg: Params) -> None:
    from lockstep.contract.model_contract import build_contract
    from lockstep.data.prepare import prepare_data
    from lockstep.modeling.train import train_model

    flipped = replace(
        cfg, data=replace(cfg.data, positive_class=0)
    )  # 0 sorts first: only the setting makes it positive
    prepared = prepare_data(generate_credit_data(1_200, seed=4), flipped)
    model = train_model(prepared.train, prepared.features, flipped)
    contract = build_contract(prepared.features, flipped, trusted_types=[])
    assert (contract.classes, contract.positive_class) == ([1, 0], 0)
    scored = predict_frame(model, prepared.test, contract)
    expected = model.predict_proba(prepared.test[contract.feature_names])[:, list(model.classes_).index(0)]
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert ((scored["score"] >= contract.decision_threshold) == (scored["label"] == 0)).all()


def test_dropped_columns_are_accepted_in_records_and_ignored(prepared: PreparedData, contract: ModelContract) -> None:
    records = _records(prepared, 2)
    for record in records:
        record["applied_on"] = "2024-01-31"
    assert [p.field for p in check_record_fields(records, contract)] == ["applied_on", "applied_on"]
    assert check_record_fields(records, replace(contract, dropped=["applied_on"])) == []


def test_predict_frame_predicts_with_one_worker_and_restores_n_jobs(
    prepared: PreparedData, contract: ModelContract, cfg: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    from lockstep.modeling.features import build_preprocessor

    forest = RandomForestClassifier(n_estimators=4, n_jobs=2, random_state=0)
    model = Pipeline([("preprocess", build_preprocessor(prepared.features, cfg.features)), ("model", forest)])
    model.fit(prepared.train[contract.feature_names], prepared.train[contract.target])
    seen: list[int] = []
    predict_proba = forest.predict_proba
    monkeypatch.setattr(forest, "predict_proba", lambda x: seen.append(forest.n_jobs) or predict_proba(x))
    predict_frame(model, prepared.test, contract)
    assert (seen, forest.n_jobs) == ([1], 2)
