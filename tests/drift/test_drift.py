"""mlops-drift with real Evidently: verdicts, reports, exit codes, local files and S3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from mlops_platform.drift import (
    DEFAULT_MIN_ROWS,
    HTML_REPORT,
    JSON_REPORT,
    SAMPLE_SEED,
    DriftInputError,
    compare,
    main,
    read_table,
    served_location,
)
from mlops_platform.monitoring.catalog import (
    DATA_STALENESS,
    DRIFT_DETECTED,
    DRIFT_JOB,
    DRIFT_LAST_SUCCESS,
    DRIFT_SHARE,
)
from mlops_platform.processes import free_port
from tests.support.scrape import scrape, values
from tests.support.servers import Pushgateway, S3Endpoint, running_pushgateway

# Real mlops-drift runs (Evidently) and a moto S3 server: seconds per test.
pytestmark = pytest.mark.slow

COLUMNS = ["age", "income", "score", "tenure", "visits"]
SHIFTED = ["age", "income", "score"]


def sample(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{column: frame[column] + 1.5 for column in SHIFTED})


@pytest.fixture
def reference_csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    sample(800, seed=1).assign(target=1).to_csv(path, index=False)
    return path


def serving_log(folder: Path, frame: pd.DataFrame) -> Path:
    """The serving log's shape: one JSON line per row, plus prediction and served_at."""
    folder.mkdir(parents=True, exist_ok=True)
    logged = frame.assign(prediction=0, served_at=1.7e9)
    (folder / "predictions.jsonl").write_text(logged.to_json(orient="records", lines=True))
    return folder


def report(report_dir: Path) -> dict:
    assert (report_dir / HTML_REPORT).stat().st_size > 10_000
    return json.loads((report_dir / JSON_REPORT).read_text())


def test_reference_like_data_is_no_drift(tmp_path, reference_csv, capsys):
    current = serving_log(tmp_path / "monitoring", sample(400, seed=2))
    code = main(["--reference", str(reference_csv), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports")])
    assert code == 0
    summary = report(tmp_path / "reports")
    assert summary["drift_detected"] is False
    assert summary["columns"] == len(COLUMNS)  # target, prediction and served_at left out
    assert summary["current_rows"] == 400
    assert capsys.readouterr().out.startswith("no drift:")


def test_shifted_data_is_drift_naming_the_drifted_columns(tmp_path, reference_csv, capsys):
    current = serving_log(tmp_path / "monitoring", shifted(sample(400, seed=3)))
    code = main(["--reference", str(reference_csv), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports")])
    assert code == 1
    summary = report(tmp_path / "reports")
    assert summary["drift_detected"] is True
    drifted = sorted(c for c, v in summary["per_column"].items() if v["drifted"])
    assert drifted == sorted(SHIFTED)
    assert summary["drifted_columns"] == len(SHIFTED)
    assert capsys.readouterr().out.startswith("DRIFT: 3 of 5 columns drifted")


def test_reports_written_beside_the_log_are_not_read_as_data(tmp_path, reference_csv):
    monitoring = serving_log(tmp_path / "monitoring", sample(300, seed=12))
    args = ["--reference", str(reference_csv), "--current", str(monitoring),
            "--report-dir", str(monitoring)]
    assert main(args) == 0
    assert main(args) == 0
    assert report(monitoring)["current_rows"] == 300


def test_parquet_files_as_the_monitoring_cronjob_stores_them(tmp_path):
    reference, current = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    sample(500, seed=13).to_parquet(reference)
    shifted(sample(300, seed=14)).to_parquet(current)
    code = main(["--reference", str(reference), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports")])
    assert code == 1
    assert report(tmp_path / "reports")["current_rows"] == 300


def test_drift_share_sets_how_many_columns_make_a_drift(tmp_path, reference_csv):
    current = serving_log(tmp_path / "monitoring", shifted(sample(400, seed=3)))
    args = ["--reference", str(reference_csv), "--current", str(current),
            "--report-dir", str(tmp_path / "reports")]
    assert main([*args, "--drift-share", "0.8"]) == 0
    assert main([*args, "--drift-share", "0.6"]) == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing-current", "does not exist: serve the model"),
        ("empty-current", "holds no rows"),
        ("no-shared-column", "share no column"),
        ("bad-share", "drift share 1.5 is out of range"),
        ("not-tabular", "is not valid CSV, JSON lines or Parquet"),
        ("bad-min-rows", "min rows 1 must lie between 2 and max rows"),
    ],
)
def test_bad_input_exits_2_with_the_fix_and_writes_nothing(
    tmp_path, reference_csv, capsys, case, message
):
    current = tmp_path / "monitoring"
    current.mkdir()
    extra: list[str] = []
    if case == "empty-current":
        (current / "predictions.jsonl").write_text("")
    elif case == "no-shared-column":
        serving_log(current, pd.DataFrame({"other": np.arange(40.0)}))
    elif case == "bad-share":
        serving_log(current, sample(50, seed=4))
        extra = ["--drift-share", "1.5"]
    elif case == "bad-min-rows":
        serving_log(current, sample(50, seed=4))
        extra = ["--min-rows", "1"]
    elif case == "not-tabular":
        (current / "predictions.jsonl").write_text("{not json\n")
    else:
        current = tmp_path / "nowhere"
    code = main(["--reference", str(reference_csv), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports"), *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(("rows", "options", "needed"), [(2, [], DEFAULT_MIN_ROWS),
                                                          (40, ["--min-rows", "50"], 50)],
                         ids=["two-served-rows", "a-higher-minimum"])
def test_too_few_served_rows_get_no_verdict_but_exit_2_naming_both_counts(
    tmp_path, reference_csv, capsys, rows, options, needed
):
    current = serving_log(tmp_path / "monitoring", sample(rows, seed=2))
    code = main(["--reference", str(reference_csv), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports"), *options])
    assert code == 2
    err = capsys.readouterr().err
    assert f"has {rows} rows, and a drift verdict needs at least {needed} (--min-rows)" in err
    assert "serve more predictions" in err
    assert not (tmp_path / "reports").exists()


def test_constant_served_columns_get_a_verdict_without_numpy_warnings(tmp_path, reference_csv):
    # Two copies of one request: numpy divides by zero correlating the constant columns.
    current = serving_log(tmp_path / "monitoring", pd.concat([sample(1, seed=2)] * 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["--reference", str(reference_csv), "--current", str(current),
                     "--report-dir", str(tmp_path / "reports"), "--min-rows", "2"])
    assert code in (0, 1)
    assert report(tmp_path / "reports")["current_rows"] == 2
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_the_installed_command_gives_the_verdict_as_exit_status(tmp_path, reference_csv):
    current = tmp_path / "current.csv"
    shifted(sample(300, seed=5)).to_csv(current, index=False)
    command = [sys.executable, "-m", "mlops_platform.drift", "--reference", str(reference_csv),
               "--current", str(current), "--report-dir", str(tmp_path / "reports")]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1, finished.stderr
    assert "DRIFT" in finished.stdout
    assert str(tmp_path / "reports" / HTML_REPORT) in finished.stdout


def big_log(path: Path, repeats: int) -> int:
    """A serving log of ``repeats`` times 30,000 rows, written block by block; its row count."""
    block = sample(30_000, seed=21).assign(prediction=0, served_at=1.7e9)
    text = block.to_json(orient="records", lines=True, double_precision=6)
    with path.open("w") as handle:
        for _ in range(repeats):
            handle.write(text if text.endswith("\n") else text + "\n")
    return repeats * len(block)


def peak_of_reading(log: Path, max_rows: int):
    tracemalloc.start()
    try:
        read = read_table(str(log), "current", max_rows=max_rows)
        return read, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_log_larger_than_the_sample_is_read_in_bounded_memory(tmp_path):
    small, large = tmp_path / "small" / "predictions.jsonl", tmp_path / "predictions.jsonl"
    small.parent.mkdir()
    big_log(small, repeats=2)
    rows = big_log(large, repeats=10)
    size = large.stat().st_size
    assert size > 30 * 2**20
    _, small_peak = peak_of_reading(small, max_rows=5_000)
    read, peak = peak_of_reading(large, max_rows=5_000)
    assert (len(read.frame), read.total_rows) == (5_000, rows)
    # Five times the log, the same memory: it follows the sample, not the file.
    assert peak < 1.5 * small_peak, (peak, small_peak)
    assert peak < size / 3, f"peak {peak} bytes for a log of {size} bytes"
    assert read.describe("current") == (
        f"read 5000 of {rows} current rows (a uniform sample, from 1 file)")


def test_the_sample_is_uniform_over_the_whole_log_not_its_head(tmp_path):
    log = tmp_path / "predictions.jsonl"
    halves = pd.concat([sample(5_000, seed=1).assign(half=0), sample(5_000, seed=2).assign(half=1)])
    log.write_text(halves.to_json(orient="records", lines=True))
    read = read_table(str(log), "current", max_rows=1_000)
    assert 0.4 < read.frame["half"].mean() < 0.6


def test_the_cli_says_how_much_it_read_and_takes_the_rotated_logs(tmp_path, reference_csv, capsys):
    monitoring = serving_log(tmp_path / "monitoring", sample(300, seed=2))
    rotated = sample(200, seed=3).assign(prediction=1, served_at=1.6e9)
    (monitoring / "predictions.jsonl.1").write_text(rotated.to_json(orient="records", lines=True))
    (monitoring / "predictions.jsonl.lock").write_text("")
    code = main(["--reference", str(reference_csv), "--current",
                 str(monitoring / "predictions.jsonl"), "--report-dir", str(tmp_path / "reports"),
                 "--max-rows", "400"])
    # Not the verdict: on 400 rows a side, which rows are read moves K-S p-values near 0.05.
    assert code in (0, 1)
    out = capsys.readouterr().out.splitlines()
    assert out[1:3] == ["read 400 of 800 reference rows (a uniform sample, from 1 file)",
                        "read 400 of 500 current rows (a uniform sample, from 2 files)"]
    read = report(tmp_path / "reports")["read"]
    assert read["current"] == {"rows_read": 400, "rows_total": 500, "files": 2, "max_rows": 400}


def wide(rows: int, seed: int, shifted_columns: int = 0) -> pd.DataFrame:
    """30 normal columns, the first ``shifted_columns`` moved by half a standard deviation."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 30)), columns=[f"f{i}" for i in range(30)])
    frame.iloc[:, :shifted_columns] += 0.5
    return frame


@pytest.mark.parametrize("shifted_columns", [10, 0])
def test_tests_on_a_sample_give_the_verdict_of_all_rows(shifted_columns):
    reference, current = wide(12_000, seed=31), wide(12_000, 32, shifted_columns)
    on_all, _ = compare(reference, current, test_rows=12_000)
    sampled, _ = compare(reference, current, test_rows=4_000)
    assert sampled.tested_rows == {"reference": 4_000, "current": 4_000, "limit": 4_000}
    assert on_all.tested_rows["current"] == 12_000
    drifted = sorted((c for c, v in sampled.per_column.items() if v["drifted"]),
                     key=lambda name: int(name[1:]))
    assert drifted == [f"f{i}" for i in range(shifted_columns)]
    for column, tested in sampled.per_column.items():
        full = on_all.per_column[column]
        assert tested["method"] == full["method"] == "Wasserstein distance (normed)"
        assert tested["drifted"] == full["drifted"]
        # About 3 standard errors of the estimate at 4,000 rows; the threshold is 0.1.
        assert abs(tested["score"] - full["score"]) < 0.06, column
    assert (sampled.drifted_columns, sampled.reference_rows) == (shifted_columns, 12_000)


def test_the_method_is_chosen_on_all_rows_not_on_the_sample():
    # Six values, one of them rare: a sample misses it and Evidently would then choose
    # Jensen-Shannon (for 5 values or fewer) instead of Wasserstein.
    rng = np.random.default_rng(41)
    reference = pd.DataFrame({"level": rng.integers(0, 5, size=3_000).astype(float)})
    current = pd.DataFrame({"level": rng.integers(0, 5, size=3_000).astype(float)})
    sampled_rows = reference.sample(n=1_500, random_state=SAMPLE_SEED).index
    reference.loc[reference.index.difference(sampled_rows)[0], "level"] = 9.0
    result, _ = compare(reference, current, test_rows=1_500)
    assert result.per_column["level"]["method"] == "Wasserstein distance (normed)"
    assert result.tested_rows["reference"] == 1_500


@pytest.fixture
def s3(moto_s3: S3Endpoint) -> S3Endpoint:
    return moto_s3


def test_s3_reference_current_and_reports_as_in_the_monitoring_cronjob(s3, capsys):
    client = boto3.client("s3", endpoint_url=s3.url)
    client.create_bucket(Bucket="mlops")
    client.put_object(Bucket="mlops", Key="data/train.csv",
                      Body=sample(600, seed=6).to_csv(index=False).encode())
    for part in range(2):
        rows = shifted(sample(150, seed=10 + part)).to_json(orient="records", lines=True)
        client.put_object(Bucket="mlops", Key=f"monitoring/part-{part}.jsonl", Body=rows.encode())
    code = main(["--reference", "s3://mlops/data/train.csv", "--current", "s3://mlops/monitoring/",
                 "--report-dir", "s3://mlops/reports/drift"])
    assert code == 1, capsys.readouterr().err
    stored = json.loads(client.get_object(Bucket="mlops", Key=f"reports/drift/{JSON_REPORT}")
                        ["Body"].read())
    assert stored["drift_detected"] is True
    assert stored["current_rows"] == 300
    html = client.get_object(Bucket="mlops", Key=f"reports/drift/{HTML_REPORT}")["Body"].read()
    assert len(html) > 10_000


def test_s3_missing_bucket_exits_2_naming_the_uri(s3, capsys):
    code = main(["--reference", "s3://absent/train.csv", "--current", "s3://absent/monitoring/",
                 "--report-dir", "s3://absent/reports"])
    assert code == 2
    assert "s3://absent/train.csv" in capsys.readouterr().err


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    with running_pushgateway(tmp_path_factory.mktemp("pushgateway")) as gateway:
        yield gateway


def test_the_cronjobs_check_pushes_verdict_share_staleness_and_success(s3, pushgateway, capsys):
    """As the CronJob runs it: shipped served inputs under monitoring/<model>/served/ in S3."""
    client = boto3.client("s3", endpoint_url=s3.url)
    client.create_bucket(Bucket="mlops")
    client.put_object(Bucket="mlops", Key="data/train.csv",
                      Body=sample(600, seed=6).to_csv(index=False).encode())
    newest = time.time() - 600
    for part in range(2):  # two shipped rounds; the second holds the newest row
        served = shifted(sample(150, seed=30 + part)).assign(served_at=newest - 60 + 60 * part)
        client.put_object(Bucket="mlops", Key=f"monitoring/iris/served/pod-1/{part}.jsonl",
                          Body=served.to_json(orient="records", lines=True).encode())
    before = time.time()
    code = main(["--reference", "s3://mlops/data/train.csv",
                 "--current", "s3://mlops/monitoring/iris/served/",
                 "--report-dir", "s3://mlops/monitoring/iris/drift", "--pushgateway",
                 pushgateway.url])
    after = time.time()
    assert code == 1, capsys.readouterr().err
    assert capsys.readouterr().err == ""
    key = f"monitoring/iris/drift/{JSON_REPORT}"
    stored = json.loads(client.get_object(Bucket="mlops", Key=key)["Body"].read())
    assert stored["newest_served_at"] == pytest.approx(newest, abs=1e-3)
    pushed = scrape(f"{pushgateway.url}/metrics")
    group = {"job": DRIFT_JOB, "model": "iris"}
    assert values(pushed, DRIFT_DETECTED.name, **group) == [1.0]
    assert values(pushed, DRIFT_SHARE.name, **group) == [pytest.approx(stored["drifted_share"])]
    (staleness,) = values(pushed, DATA_STALENESS.name, **group)
    assert before - newest <= staleness <= after - newest
    (success,) = values(pushed, DRIFT_LAST_SUCCESS.name, **group)
    assert before <= success <= after


def test_a_check_without_verdict_pushes_nothing(tmp_path, reference_csv, pushgateway):
    current = serving_log(tmp_path / "monitoring" / "quiet" / "served", sample(5, seed=4))
    code = main(["--reference", str(reference_csv), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports"), "--pushgateway", pushgateway.url])
    assert code == 2
    assert values(scrape(f"{pushgateway.url}/metrics"), DRIFT_LAST_SUCCESS.name,
                  model="quiet") == []


def test_a_failed_push_is_one_warning_and_the_verdict_stands(tmp_path, reference_csv, capsys,
                                                             monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLOPS_PUSHGATEWAY_URL", dead)  # the CronJob's way to opt in
    current = serving_log(tmp_path / "monitoring", shifted(sample(400, seed=3)))
    code = main(["--reference", str(reference_csv), "--current", str(current),
                 "--report-dir", str(tmp_path / "reports"), "--model", "iris"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mlops-drift: warning: could not push to the Pushgateway at {dead}")
    assert err.count("\n") == 1


def test_pushing_needs_the_model_label(tmp_path, reference_csv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--reference", str(reference_csv), "--current", str(tmp_path / "log.jsonl"),
              "--report-dir", str(tmp_path / "reports"), "--pushgateway", "http://127.0.0.1:1"])
    assert exited.value.code == 2
    assert "--model is needed to push" in capsys.readouterr().err


@pytest.mark.parametrize(("store", "expected"), [
    ("s3://platform", "s3://platform/monitoring/churn/served/"),
    ("s3://platform/", "s3://platform/monitoring/churn/served/"),
    # The log shipper writes at the bucket's root, whatever path the store's URI adds.
    ("s3://platform/artifacts", "s3://platform/monitoring/churn/served/"),
    ("file:///srv/my%20platform/artifacts", "/srv/my platform/artifacts/monitoring/churn/served"),
])
def test_the_served_inputs_are_where_the_log_shipper_puts_them(store: str, expected: str) -> None:
    assert served_location(store, "churn") == expected


@pytest.mark.parametrize("store", ["gs://platform", "/srv/artifacts", "s3://"])
def test_a_store_that_cannot_hold_served_inputs_is_named(store: str) -> None:
    with pytest.raises(DriftInputError, match=r"artifact_store_uri|names no bucket"):
        served_location(store, "churn")
