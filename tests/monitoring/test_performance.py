"""mlops-performance: predictions joined with their labels, windowed metrics against the
promoted value, exit 0 healthy / 1 degraded / 2 could not check, its reports and its push."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest

from mlops_platform.client.platform_rules import PlatformRulesError, degradation_rule
from mlops_platform.monitoring.catalog import (
    MODEL_PERFORMANCE,
    MODEL_PERFORMANCE_DEGRADED,
    MODEL_PERFORMANCE_LABEL_AGE,
    MODEL_PERFORMANCE_ROWS,
    PERFORMANCE_JOB,
    PERFORMANCE_LAST_SUCCESS,
)
from mlops_platform.performance import HTML_REPORT, JSON_REPORT, main
from mlops_platform.prediction_log import Predictor, label_lines, prediction_lines
from tests.support.scrape import scrape, values
from tests.support.servers import Pushgateway, S3Endpoint, running_pushgateway

DAY = 86400
DAY_1 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a UTC midnight: a 1d window starts there
DAY_2 = DAY_1 + DAY
LABELLED_AT = DAY_2 + 2 * DAY


def write_log(folder: Path, rows: list[tuple[str, int, float]], version: str = "1") -> Path:
    """Prediction lines ``(id, prediction, served_at)`` of ``version``, one request each."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "predictions.jsonl"
    predictor = Predictor("churn", version, "mlflow")
    with path.open("ab") as log:
        for prediction_id, prediction, served_at in rows:
            log.write(prediction_lines([{"x": 1.0}], [prediction], [prediction_id], predictor,
                                       served_at))
    return path


def write_labels(folder: Path, labels: list[tuple[str, object]],
                 labelled_at: float = LABELLED_AT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "labels.jsonl").open("ab") as file:
        file.write(label_lines(labels, labelled_at))
    return folder


# The hand-computed example. Day 1 holds six labelled rows (its last at 23:59:59), day 2 four
# (its first at exactly midnight), plus one prediction never labelled and one label of an id
# no prediction has.
#   day 1: predictions 1 1 0 0 1 0, labels 1 0 0 0 1 1: TP 2, FP 1, TN 2, FN 1
#          accuracy 4/6, precision 2/3, recall 2/3, f1 2/3, roc_auc (1 + 2/3 - 1/3) / 2 = 2/3
#   day 2: predictions 1 0 1 0, labels 1 0 0 0: TP 1, FP 1, TN 2, FN 0
#          accuracy 3/4, precision 1/2, recall 1, f1 2/3, roc_auc (1 + 1 - 1/3) / 2 = 5/6
DAY_1_ROWS = [("a1", 1, DAY_1 + 3600), ("a2", 1, DAY_1 + 7200), ("a3", 0, DAY_1 + 10_000),
              ("a4", 0, DAY_1 + 40_000), ("a5", 1, DAY_1 + 80_000), ("a6", 0, DAY_2 - 1)]
DAY_1_LABELS = [("a1", 1), ("a2", 0), ("a3", 0), ("a4", 0), ("a5", 1), ("a6", 1)]
DAY_2_ROWS = [("b1", 1, DAY_2), ("b2", 0, DAY_2 + 100), ("b3", 1, DAY_2 + 200),
              ("b4", 0, DAY_2 + 300), ("unlabelled", 1, DAY_2 + 400)]
DAY_2_LABELS = [("b1", 1), ("b2", 0), ("b3", 0), ("b4", 0), ("not-logged", 1)]
DAY_1_EXPECTED = {"accuracy": 4 / 6, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3,
                  "roc_auc": 2 / 3}
DAY_2_EXPECTED = {"accuracy": 3 / 4, "precision": 1 / 2, "recall": 1.0, "f1": 2 / 3,
                  "roc_auc": 5 / 6}


@pytest.fixture
def example(tmp_path: Path) -> tuple[Path, Path]:
    log = write_log(tmp_path / "monitoring", DAY_1_ROWS + DAY_2_ROWS)
    labels = write_labels(tmp_path / "monitoring" / "labels", DAY_1_LABELS + DAY_2_LABELS)
    return log, labels


def run(log: Path, labels: Path, report_dir: Path, *options: str) -> int:
    return main(["--predictions", str(log), "--labels", str(labels),
                 "--report-dir", str(report_dir), *options])


def summary_of(report_dir: Path) -> dict:
    return json.loads((report_dir / JSON_REPORT).read_text())


def test_the_windowed_metrics_equal_the_hand_computation(example, tmp_path, capsys):
    code = run(*example, tmp_path / "reports", "--metric", "roc_auc", "--baseline", "0.8",
               "--min-rows", "4")
    assert code == 0, capsys.readouterr().err
    summary = summary_of(tmp_path / "reports")
    day_1, day_2 = summary["windows"]
    assert (day_1["start_utc"], day_1["labelled_rows"]) == ("2026-01-01T00:00:00Z", 6)
    assert (day_2["start_utc"], day_2["labelled_rows"]) == ("2026-01-02T00:00:00Z", 4)
    assert day_1["metrics"] == pytest.approx(DAY_1_EXPECTED)
    assert day_2["metrics"] == pytest.approx(DAY_2_EXPECTED)
    assert (summary["unjoined_labels"], summary["joined_rows"]) == (1, 10)
    assert summary["window"]["start_utc"] == "2026-01-02T00:00:00Z"  # the latest with 4 rows
    assert summary["value"] == pytest.approx(5 / 6)
    out = capsys.readouterr().out
    assert out.startswith("healthy: roc_auc 0.8333 on 4 labelled rows")
    assert "1 labels of unknown ids (not joined)" in out
    assert "this roc_auc is the balanced accuracy" in out
    assert summary["roc_auc_on_classes"] is True


def test_a_seeded_example_matches_a_count_per_hourly_window(tmp_path, capsys):
    rng = np.random.default_rng(7)
    served = DAY_1 + rng.uniform(0, 3 * 3600, size=300)
    predictions, truths = rng.integers(0, 2, size=300), rng.integers(0, 2, size=300)
    ids = [f"p{index}" for index in range(300)]
    log = write_log(tmp_path / "log", list(zip(ids, predictions.tolist(), served, strict=True)))
    labels = write_labels(tmp_path / "labels", list(zip(ids, truths.tolist(), strict=True)))
    code = run(log, labels, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.3",
               "--window", "1h")
    assert code == 0, capsys.readouterr().err
    hours = ((served - DAY_1) // 3600).astype(int)
    expected = [sum(int(p == t) for p, t, h in zip(predictions, truths, hours, strict=True)
                    if h == hour) / int((hours == hour).sum()) for hour in range(3)]
    windows = summary_of(tmp_path / "reports")["windows"]
    assert [w["labelled_rows"] for w in windows] == [int((hours == h).sum()) for h in range(3)]
    assert [w["metrics"]["accuracy"] for w in windows] == pytest.approx(expected)


def test_a_drop_beyond_the_platform_limit_exits_1(example, tmp_path, capsys):
    # Day 2's accuracy 0.75 is 0.15 below 0.9, beyond the platform's 0.05.
    code = run(*example, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.9",
               "--min-rows", "4")
    assert code == 1
    assert capsys.readouterr().out.startswith("DEGRADED: accuracy 0.7500 on 4 labelled rows")
    assert summary_of(tmp_path / "reports")["degraded"] is True
    assert len((tmp_path / "reports" / HTML_REPORT).read_text()) > 10_000


def test_the_verdict_is_on_the_latest_window_with_enough_rows(example, tmp_path, capsys):
    # Day 2 has 4 labelled rows, under 5: day 1's 4/6 is judged, 0.133 below 0.8.
    code = run(*example, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.8",
               "--min-rows", "5")
    assert code == 1
    assert summary_of(tmp_path / "reports")["window"]["start_utc"] == "2026-01-01T00:00:00Z"


def test_a_project_may_tighten_the_limit(example, tmp_path):
    # 0.75 is 0.03 below 0.78: within the platform's 0.05, beyond the project's 0.02.
    common = ("--metric", "accuracy", "--baseline", "0.78", "--min-rows", "4")
    assert run(*example, tmp_path / "platform", *common) == 0
    assert run(*example, tmp_path / "project", *common, "--max-drop", "0.02") == 1


def test_a_project_cannot_loosen_the_platform_limit(example, tmp_path, capsys):
    with pytest.raises(PlatformRulesError, match="only tighten"):
        degradation_rule("accuracy", 0.2)
    code = run(*example, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.9",
               "--min-rows", "4", "--max-drop", "0.2")
    assert code == 2
    err = capsys.readouterr().err
    assert err == ("mlops-performance: max drop 0.2 for accuracy loosens the platform's limit of "
                   "0.05 (rules/monitoring.yaml): a project may only tighten it; give 0.05 or "
                   "less\n")
    assert not (tmp_path / "reports").exists()


def test_too_few_labelled_rows_exit_2_naming_the_fix(example, tmp_path, capsys):
    code = run(*example, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.9")
    assert code == 2
    err = capsys.readouterr().err
    assert "no window of version 1 has 30 labelled rows (--min-rows; the most in one is 6)" in err
    assert err.count("\n") == 1


def test_roc_auc_of_one_class_is_not_computable_and_gives_no_verdict(tmp_path, capsys):
    log = write_log(tmp_path / "log", [(f"p{i}", i % 2, DAY_1 + i) for i in range(6)])
    labels = write_labels(tmp_path / "labels", [(f"p{i}", 1) for i in range(6)])
    code = run(log, labels, tmp_path / "reports", "--metric", "roc_auc", "--baseline", "0.9",
               "--min-rows", "5")
    assert code == 2
    assert "roc_auc needs both classes among the labels" in capsys.readouterr().err


def test_the_judged_version_is_the_newest_served_one(tmp_path, capsys):
    folder = tmp_path / "log"
    write_log(folder, [(f"old{i}", 0, DAY_1 + i) for i in range(5)], version="1")
    log = write_log(folder, [(f"new{i}", 1, DAY_1 + 100 + i) for i in range(5)], version="2")
    labels = write_labels(tmp_path / "labels", [(f"old{i}", 1) for i in range(5)]
                          + [(f"new{i}", 1) for i in range(5)])
    code = run(log, labels, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.9",
               "--min-rows", "5")
    assert code == 0, capsys.readouterr().err
    summary = summary_of(tmp_path / "reports")
    assert summary["window"]["model_version"] == "2"
    assert {(w["model_version"], w["metrics"]["accuracy"]) for w in summary["windows"]} == {
        ("1", 0.0), ("2", 1.0)}
    assert run(log, labels, tmp_path / "v1", "--metric", "accuracy", "--baseline", "0.9",
               "--min-rows", "5", "--model-version", "1") == 1


def test_regression_metrics_and_a_limit_the_project_must_state(tmp_path, capsys):
    truths = [10.0, 12.0, 14.0, 16.0]
    predicted = [11.0, 12.0, 12.0, 16.0]  # errors 1, 0, 2, 0: mae 0.75, rmse sqrt(5/4)
    log = write_log(tmp_path / "log", [(f"r{i}", p, DAY_1 + i) for i, p in enumerate(predicted)])
    labels = write_labels(tmp_path / "labels", [(f"r{i}", t) for i, t in enumerate(truths)])
    common = ("--metric", "rmse", "--baseline", "1.0", "--min-rows", "4")
    assert run(log, labels, tmp_path / "reports", *common) == 2
    assert "--max-drop" in capsys.readouterr().err
    assert run(log, labels, tmp_path / "reports", *common, "--max-drop", "0.5") == 0
    window = summary_of(tmp_path / "reports")["windows"][0]
    assert window["metrics"] == pytest.approx({"rmse": 1.25 ** 0.5, "mae": 0.75})
    assert run(log, labels, tmp_path / "reports", *common, "--max-drop", "0.1") == 1  # 1.118


@pytest.mark.parametrize(("options", "message"), [
    (("--baseline", "high"), "--baseline 'high' is neither a number nor `champion`"),
    (("--window", "1w"), "window '1w' is not a duration"),
    (("--min-rows", "0"), "--min-rows 0 must be 1 or more"),
])
def test_bad_arguments_exit_2_naming_them(example, tmp_path, capsys, options, message):
    arguments = {"--metric": "accuracy", "--baseline": "0.9", "--min-rows": "4"}
    arguments.update(zip(options[::2], options[1::2], strict=True))
    code = run(*example, tmp_path / "reports", *[item for pair in arguments.items()
                                                 for item in pair])
    assert code == 2
    assert message in capsys.readouterr().err


def test_labels_of_no_logged_prediction_join_nothing(tmp_path, capsys):
    log = write_log(tmp_path / "log", [("a", 1, DAY_1)])
    labels = write_labels(tmp_path / "labels", [("x", 1), ("y", 0)])
    code = run(log, labels, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.9")
    assert code == 2
    assert "(2 labels, 2 of unknown ids)" in capsys.readouterr().err


def test_of_repeated_labels_of_one_id_the_first_counts_as_the_intake_keeps_it(tmp_path, capsys):
    log = write_log(tmp_path / "log", [(f"p{i}", 1, DAY_1 + i) for i in range(4)])
    labels = write_labels(tmp_path / "labels", [("p0", 1), ("p1", 1), ("p2", 0), ("p3", 0)],
                          LABELLED_AT)
    write_labels(labels, [("p0", 0), ("p1", 0)], LABELLED_AT + 60)  # sent again later
    code = run(log, labels, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.5",
               "--min-rows", "4")
    assert code == 0, capsys.readouterr().err
    summary = summary_of(tmp_path / "reports")
    assert (summary["value"], summary["duplicate_labels"], summary["joined_rows"]) == (0.5, 2, 4)


@pytest.fixture
def s3(moto_s3: S3Endpoint) -> S3Endpoint:
    return moto_s3


def test_an_unreadable_store_exits_2_naming_it(s3, tmp_path, capsys):
    code = main(["--predictions", "s3://absent/monitoring/churn/served/",
                 "--labels", "s3://absent/monitoring/churn/labels/", "--metric", "accuracy",
                 "--baseline", "0.9", "--report-dir", str(tmp_path / "reports")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("mlops-performance: cannot read s3://absent/monitoring/churn/served/")
    assert err.count("\n") == 1


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    with running_pushgateway(tmp_path_factory.mktemp("pushgateway")) as gateway:
        yield gateway


def test_the_store_and_the_push_as_the_cluster_job_runs_it(s3, pushgateway, example, capsys):
    """Log and labels under monitoring/<model>/ in S3, reports beside them, verdict pushed."""
    client = boto3.client("s3", endpoint_url=s3.url)
    client.create_bucket(Bucket="mlops")
    log, labels = example
    client.put_object(Bucket="mlops", Key="monitoring/churn/served/pod-1/0.jsonl",
                      Body=log.read_bytes())
    client.put_object(Bucket="mlops", Key="monitoring/churn/labels/0.jsonl",
                      Body=(labels / "labels.jsonl").read_bytes())
    before = time.time()
    code = main(["--predictions", "s3://mlops/monitoring/churn/served/",
                 "--labels", "s3://mlops/monitoring/churn/labels/", "--metric", "accuracy",
                 "--baseline", "0.9", "--min-rows", "4",
                 "--report-dir", "s3://mlops/monitoring/churn/performance",
                 "--pushgateway", pushgateway.url])
    after = time.time()
    assert code == 1, capsys.readouterr().err
    assert capsys.readouterr().err == ""
    stored = json.loads(client.get_object(
        Bucket="mlops", Key=f"monitoring/churn/performance/{JSON_REPORT}")["Body"].read())
    assert stored["value"] == pytest.approx(0.75)
    pushed = scrape(f"{pushgateway.url}/metrics")
    series = {"job": PERFORMANCE_JOB, "model": "churn", "version": "1"}
    assert values(pushed, MODEL_PERFORMANCE.name, **series) == [pytest.approx(0.75)]
    assert values(pushed, MODEL_PERFORMANCE_ROWS.name, **series) == [4.0]
    assert values(pushed, MODEL_PERFORMANCE_DEGRADED.name, **series) == [1.0]
    (age,) = values(pushed, MODEL_PERFORMANCE_LABEL_AGE.name, **series)
    assert before - LABELLED_AT <= age <= after - LABELLED_AT
    (success,) = values(pushed, PERFORMANCE_LAST_SUCCESS.name, **series)
    assert before <= success <= after


def test_a_new_version_push_replaces_the_retired_versions_series(pushgateway, tmp_path):
    for version in ("1", "2"):
        folder = tmp_path / version
        log = write_log(folder, [(f"{version}-{i}", 1, DAY_1 + i) for i in range(4)], version)
        labels = write_labels(folder / "labels", [(f"{version}-{i}", 1) for i in range(4)])
        assert run(log, labels, folder / "reports", "--metric", "accuracy", "--baseline", "0.9",
                   "--min-rows", "4", "--model", "retiring", "--pushgateway",
                   pushgateway.url) == 0
    pushed = scrape(f"{pushgateway.url}/metrics")
    degraded = [sample.labels["version"] for sample in pushed
                if sample.name == MODEL_PERFORMANCE_DEGRADED.name
                and sample.labels.get("model") == "retiring"]
    assert degraded == ["2"]


def test_a_check_without_verdict_pushes_nothing(example, tmp_path, pushgateway):
    code = run(*example, tmp_path / "reports", "--metric", "accuracy", "--baseline", "0.9",
               "--model", "quiet", "--pushgateway", pushgateway.url)
    assert code == 2
    assert values(scrape(f"{pushgateway.url}/metrics"), PERFORMANCE_LAST_SUCCESS.name,
                  model="quiet") == []


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A registry on SQLite (no server): the client reads it as it reads the platform's."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return MlflowClient(uri)


def champion_promoted_with(client, model: str, metrics: dict[str, float]) -> str:
    run = client.create_run(client.create_experiment("training"))
    for name, value in metrics.items():
        client.log_metric(run.info.run_id, name, value)
    client.create_registered_model(model)
    version = client.create_model_version(model, f"{run.info.artifact_uri}/model",
                                          run.info.run_id).version
    client.set_registered_model_alias(model, "champion", version)
    return str(version)


def test_the_baseline_of_the_champion_comes_from_its_run(registry, tmp_path, capsys):
    version = champion_promoted_with(registry, "churn", {"accuracy": 0.9})
    log = write_log(tmp_path / "log", [(f"p{i}", 1, DAY_1 + i) for i in range(4)], version)
    labels = write_labels(tmp_path / "labels", [("p0", 1), ("p1", 1), ("p2", 1), ("p3", 0)])
    code = run(log, labels, tmp_path / "reports", "--metric", "accuracy", "--baseline",
               "champion", "--model", "churn", "--min-rows", "4")
    assert code == 1, capsys.readouterr().err
    summary = summary_of(tmp_path / "reports")
    assert (summary["baseline"], summary["value"]) == (0.9, 0.75)
    assert summary["window"]["model_version"] == version
    code = run(log, labels, tmp_path / "reports", "--metric", "f1", "--baseline", "champion",
               "--model", "churn", "--min-rows", "4")
    assert code == 2
    assert f"the run of churn version {version} logged no f1 (it has accuracy)" in (
        capsys.readouterr().err)


def test_a_model_without_champion_has_no_baseline(registry, example, tmp_path, capsys):
    registry.create_registered_model("churn")
    code = run(*example, tmp_path / "reports", "--metric", "accuracy", "--baseline", "champion",
               "--model", "churn")
    assert code == 2
    assert "registered model 'churn' has no champion" in capsys.readouterr().err
