"""Every path the project reads or writes, relative to the project root.

This is the one module that knows the layout; `dvc.yaml` lists the same paths
(a test keeps the two in step). Stages run from the project root, as DVC does.
"""

from pathlib import Path

PROJ_ROOT = Path()
CONF_DIR = PROJ_ROOT / "conf"
# One file per rollout mode (none, shadow, canary, ab); the chosen one is composed into params.yaml.
ROLLOUT_CONF_DIR = CONF_DIR / "rollout"
# The Dask cluster's settings: outside params.yaml, since they change no output (config/compute.py).
CLUSTER_FILE = CONF_DIR / "cluster.yaml"
PARAMS_FILE = PROJ_ROOT / "params.yaml"
LOCK_FILE = PROJ_ROOT / "dvc.lock"

DATA_DIR = PROJ_ROOT / "data"
SOURCE_DIR = DATA_DIR / "source"
# The datasheets of the datasets this project publishes or uses (`data publish`, `data use`), one per name.
DATASHEETS_DIR = DATA_DIR / "datasheets"
RAW_DATASET = DATA_DIR / "raw" / "dataset.parquet"
PREPARED_DIR = DATA_DIR / "prepared"
TRAIN_SET = PREPARED_DIR / "train.parquet"
TEST_SET = PREPARED_DIR / "test.parquet"
FEATURES_FILE = PREPARED_DIR / "features.json"
# A frozen holdout (`data golden`, tracked with `dvc add`): every review scores both models on it.
GOLDEN_SET = DATA_DIR / "golden" / "holdout.parquet"

MODELS_DIR = PROJ_ROOT / "models"
MODEL_FILE = MODELS_DIR / "model.skops"
# The types the model file holds, recorded at train time and checked at load time.
MODEL_TYPES = MODELS_DIR / "trusted_types.json"
MODEL_CARD = MODELS_DIR / "model_card.json"
MODEL_CONTRACT = MODELS_DIR / "contract.json"
# What the monitor compares a window with: the training data's profile and the estimate's calibration.
MONITORING_REFERENCE = MODELS_DIR / "reference.json"

METRICS_DIR = PROJ_ROOT / "metrics"
DATA_METRICS = METRICS_DIR / "data.json"
EVAL_METRICS = METRICS_DIR / "metrics.json"
PLOTS_DIR = METRICS_DIR / "plots"
# Every plot has its own folder, declared in dvc.yaml: a folder holds the plot's table only when the plot fits
# the task, and DVC draws nothing for an empty one. The placeholder keeps the empty folder in Git; .dvcignore hides it.
PLOT_PLACEHOLDER = ".gitkeep"
SLICE_METRICS = METRICS_DIR / "slices.json"
PREDICTIONS = METRICS_DIR / "predictions.parquet"
# Why a retrain's commit exists (`retrain`): the review's report opens with it.
RETRAIN_TRIGGER = METRICS_DIR / "trigger.json"


def plot_file(name: str, plots_dir: Path = PLOTS_DIR) -> Path:
    """The table of plot `name`, in its own folder under `plots_dir` (see PLOTS_DIR)."""
    return plots_dir / name / f"{name}.json"


# What the review, the rollout and the monitor write, and where the server logs its predictions.
REPORTS_DIR = PROJ_ROOT / "reports"
ROLLOUT_REPORT_DIR = REPORTS_DIR / "rollout"
DECISION_FILE = ROLLOUT_REPORT_DIR / "decision.json"
MONITOR_REPORT_DIR = REPORTS_DIR / "monitor"
LOGS_DIR = PROJ_ROOT / "logs"
PREDICTION_LOG = LOGS_DIR / "predictions.jsonl"
