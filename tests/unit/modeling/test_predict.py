from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData
from lockstep.modeling.predict import predict_frame


def test_a_rows_score_does_not_depend_on_what_it_is_scored_with(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    rows = prepared.test.reset_index(drop=True)
    together = predict_frame(trained, rows, contract)
    rng = np.random.default_rng(0)
    start = 0
    while start < 600:
        size = int(rng.integers(1, 40))
        alone = predict_frame(trained, rows.iloc[start : start + size], contract)
        pd.testing.assert_frame_equal(
            alone, together.iloc[start : start + size].reset_index(drop=True), check_exact=True
        )
        start += size
