"""mlops-ab-report on the platform's store: the arms' log and labels under s3:// prefixes, the
reports written beside them (the markdown one as text/markdown)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import yaml

from mlops_platform.ab_test import JSON_REPORT, MARKDOWN_REPORT, STOP, main
from mlops_platform.prediction_log import CHALLENGER_ARM, CHAMPION_ARM
from tests.ab_test.test_ab_test import SMALL_PLAN, write_test
from tests.support.servers import S3Endpoint


def test_the_report_reads_and_writes_the_store(moto_s3: S3Endpoint, tmp_path: Path) -> None:
    write_test(tmp_path / "local", {CHAMPION_ARM: (40, 36), CHALLENGER_ARM: (40, 20)})
    client = boto3.client("s3", endpoint_url=moto_s3.url)
    client.create_bucket(Bucket="mlops")
    client.put_object(Bucket="mlops", Key="monitoring/churn/served/pod-1/0.jsonl",
                      Body=(tmp_path / "local" / "predictions.jsonl").read_bytes())
    client.put_object(Bucket="mlops", Key="monitoring/churn/labels/0.jsonl",
                      Body=(tmp_path / "local" / "labels" / "labels.jsonl").read_bytes())
    plan = tmp_path / "ab_test.yaml"
    plan.write_text(yaml.safe_dump(SMALL_PLAN))
    code = main(["--plan", str(plan), "--predictions", "s3://mlops/monitoring/churn/served/",
                 "--labels", "s3://mlops/monitoring/churn/labels/",
                 "--report-dir", "s3://mlops/monitoring/churn/ab_test"])
    assert code == STOP
    stored = json.loads(client.get_object(
        Bucket="mlops", Key=f"monitoring/churn/ab_test/{JSON_REPORT}")["Body"].read())
    assert stored["decision"] == "worse"
    markdown = client.get_object(Bucket="mlops", Key=f"monitoring/churn/ab_test/{MARKDOWN_REPORT}")
    assert markdown["ContentType"] == "text/markdown"
    assert markdown["Body"].read().decode().startswith("# A/B test: worse\n")
