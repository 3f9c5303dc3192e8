"""The pinned numerical environment's settings (the re-execution itself: tests/integration/test_numerics.py)."""

from __future__ import annotations

import pytest

from lockstep import numerics


def test_the_pin_overrides_what_the_environment_says_on_x86_64():
    hostile = {"OPENBLAS_CORETYPE": "Prescott", "OMP_NUM_THREADS": "8", "PYTHONHASHSEED": "7", "HOME": "/root"}
    settings = numerics.settings(hostile, machine="x86_64")
    assert settings["OPENBLAS_CORETYPE"] == "Nehalem"
    assert settings["OMP_NUM_THREADS"] == settings["OPENBLAS_NUM_THREADS"] == "1"
    assert settings["PYTHONHASHSEED"] == "0"
    assert "X86_V3" in settings["NPY_DISABLE_CPU_FEATURES"].split()
    assert "HOME" not in settings


def test_other_architectures_get_only_the_portable_settings():
    settings = numerics.settings({}, machine="aarch64")
    assert settings == numerics.PINNED
    assert "OPENBLAS_CORETYPE" not in settings


def test_native_mode_sets_nothing():
    assert numerics.settings({numerics.SWITCH: "native"}, machine="x86_64") == {}


def test_glibc_tunables_keep_the_users_other_tunables_and_replace_cpu_ones():
    merged = numerics.glibc_tunables("glibc.malloc.trim_threshold=1:glibc.cpu.hwcaps=-SSE4_2:glibc.cpu.x86_ibt=on")
    assert (
        merged
        == "glibc.malloc.trim_threshold=1:glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-FMA4,-AVX512F,-AVX512DQ,-AVX512BW,-AVX512VL"
    )
    assert numerics.glibc_tunables(None).startswith("glibc.cpu.hwcaps=-AVX,")


def test_an_unknown_mode_is_refused_with_the_choices():
    with pytest.raises(SystemExit, match=rf"{numerics.SWITCH}='fast' is not valid: use one of pinned, native"):
        numerics.mode({numerics.SWITCH: "fast"})


def test_prediction_runs_on_one_worker_and_the_model_keeps_its_n_jobs():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    model = Pipeline([("model", RandomForestClassifier(n_estimators=3, n_jobs=4))])
    with numerics.one_prediction_worker(model):
        assert model.get_params()["model__n_jobs"] == 1
    assert model.get_params()["model__n_jobs"] == 4


def test_a_model_loaded_to_predict_keeps_one_worker_for_good():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    model = Pipeline([("model", RandomForestClassifier(n_estimators=3, n_jobs=4))])
    numerics.use_one_prediction_worker(model)
    assert model.get_params()["model__n_jobs"] == 1
