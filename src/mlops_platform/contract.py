"""The platform outputs contract between ``infra/`` and a generated project.

The Pulumi program exports these keys as stack outputs and the embedded local
platform writes them to a JSON file; a generated project reads either one and
nothing else couples the two.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# This module is the package's leaf: standard library only, so that the template's hooks
# (run by a cookiecutter with nothing of ours installed) read the same contract.

ENVIRONMENTS = ("local", "dev", "staging", "prod")
LOCAL_ENVIRONMENT = "local"

# The embedded local platform of a checkout: its state directory, the outputs file each `up`
# writes there (`down` keeps it, and the next `up` serves on its port again, so that baked
# projects keep a live address), and the port it takes when it has none to remember.
LOCAL_STATE_DIR = ".platform"
LOCAL_OUTPUTS_FILE = "outputs.json"
LOCAL_PLATFORM_PORT = 5000


class PlatformOutputsError(ValueError):
    """A platform outputs file that cannot be used, with the reason and the fix."""


@dataclass(frozen=True, kw_only=True)
class PlatformOutputs:
    """Where a project finds the platform of one environment."""

    tracking_uri: str
    registry_uri: str
    artifact_store_uri: str
    serving_endpoint: str = ""
    environment: str
    namespace: str

    def __post_init__(self) -> None:
        problems = [f"{name}: must be a string" for name, value in asdict(self).items()
                    if not isinstance(value, str)]
        if self.environment not in ENVIRONMENTS:
            problems.append(f"environment: {self.environment!r} is not one of "
                            f"{', '.join(ENVIRONMENTS)}")
        if problems:
            raise PlatformOutputsError("; ".join(problems))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())


OUTPUT_KEYS: tuple[str, ...] = tuple(field.name for field in fields(PlatformOutputs))


def read_outputs(path: Path | str) -> PlatformOutputs:
    """Read outputs from the local platform's file or `pulumi stack output --json`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise PlatformOutputsError(
            f"platform outputs file {path} does not exist: start the local platform "
            "(`make platform-up`) or save `pulumi stack output --json` to it"
        ) from err
    except (OSError, json.JSONDecodeError) as err:
        raise PlatformOutputsError(
            f"platform outputs file {path} is not readable JSON: {err}"
        ) from err
    if not isinstance(data, dict):
        raise PlatformOutputsError(f"platform outputs file {path} must hold a JSON object")
    # `pulumi stack output --json` also lists exported secrets; keep the contract keys.
    known = {key: value for key, value in data.items() if key in OUTPUT_KEYS}
    missing = [key for key in OUTPUT_KEYS if key not in known]
    try:
        if missing:
            raise PlatformOutputsError(f"missing {', '.join(missing)}")
        return PlatformOutputs(**known)
    except PlatformOutputsError as err:
        raise PlatformOutputsError(
            f"platform outputs file {path} does not match the contract ({err}); "
            f"expected keys: {', '.join(OUTPUT_KEYS)}"
        ) from err


# --- Names shared by generated projects, the promotion gate and the governance checker ---

# Tags on every training run (and copied to the model version it registers).
TAG_GIT_COMMIT = "lineage.git_commit"
TAG_DATA_HASH = "lineage.data_hash"  # DVC md5 of the prepared data set
# DVC md5 of the labelled served rows the prepared data includes (data/labelled), or "none"
TAG_LABELLED_DATA = "lineage.labelled_data"
TAG_DATASET = "lineage.dataset"
TAG_PARAMS_HASH = "lineage.params_hash"
TAG_DATA_VALIDATION = "lineage.data_validation"  # "passed" once the data contract held
TAG_MATURITY_LEVEL = "governance.maturity_level"
# The person whose CI run trained (its platform's own identity: GITHUB_ACTOR, GITLAB_USER_LOGIN;
# outside CI the login name): the gate refuses their approval of what they trained.
TAG_TRAINED_BY = "lineage.trained_by"
LINEAGE_TAGS = (TAG_GIT_COMMIT, TAG_DATA_HASH, TAG_DATASET, TAG_PARAMS_HASH, TAG_DATA_VALIDATION)

# Tags on a model version.
TAG_RUN_ID = "lineage.run_id"
TAG_APPROVED_BY = "approval.approved_by"
TAG_APPROVED_AT = "approval.approved_at"

# Registry aliases: new versions become the challenger; only the gate moves the champion.
ALIAS_CHALLENGER = "challenger"
ALIAS_CHAMPION = "champion"

# Artifact path of the model card inside the training run.
MODEL_CARD_ARTIFACT = "model_card.md"
# Artifact path of the explanations inside the training run (the evaluate stage writes it).
EXPLAINABILITY_ARTIFACT = "explainability.json"
# A project with a feature store (feature_store=feast): the run's share of sampled online
# feature values that differ from the offline store's (its training/serving skew).
METRIC_FEATURE_SKEW = "feature_skew_share"

# The data contract the version was trained under, inside its training run: a cluster's
# serving pod reads its door's rules from here (make serve reads the project's file).
DATA_CONTRACT_ARTIFACT = "data_contract.json"

# The compiled serving path: the ONNX export of the run's model, checked equal to it on the
# test set, and the run tags that say which path serves it ("onnx" or "mlflow") and why.
ONNX_ARTIFACT = "onnx/model.onnx"
TAG_SERVING_PATH = "serving.path"
TAG_SERVING_PATH_REASON = "serving.path_reason"
SERVING_PATH_ONNX = "onnx"
SERVING_PATH_MLFLOW = "mlflow"

# params.yaml keys the gate and the checker read (dotted paths).
PARAM_MATURITY_LEVEL = "project.maturity_level"
PARAM_MODEL_NAME = "model.name"
PARAM_PRIMARY_METRIC = "promotion.primary_metric"
PARAM_THRESHOLD = "promotion.threshold"
PARAM_TOLERANCE = "promotion.tolerance"
PARAM_HIGHER_IS_BETTER = "promotion.higher_is_better"
# What a registered model name may be (model.name in params.yaml, the model_name option).
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MODEL_NAME_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit"

# Audit record of the promotion gate's last decision, as tags on the model version.
TAG_PROMOTION_OUTCOME = "governance.promotion.outcome"  # "promoted" or "refused"
TAG_PROMOTION_DECIDED_BY = "governance.promotion.decided_by"
TAG_PROMOTION_DECIDED_AT = "governance.promotion.decided_at"
TAG_PROMOTION_REASONS = "governance.promotion.reasons"
TAG_PROMOTION_PREVIOUS_CHAMPION = "governance.promotion.previous_champion"
# The chain's head `seq:hash` (on the registered model) and a version's last record.
TAG_AUDIT_HEAD = "governance.audit.head"
TAG_AUDIT_RECORD = "governance.audit.record"
# On a version: the approval bound to it (JSON: version, approver, identity source, record).
TAG_APPROVAL_RECORD = "approval.record"
# On a promoted version: the digest of its files when the gate promoted it (model_digest).
TAG_MODEL_DIGEST = "governance.model.digest"
# Every tag the gate or `audit verify` trusts: the server's champion guard lets only the gate's
# identity set or delete them, on registered models and versions alike (the admin included).
GATE_ONLY_TAGS = frozenset({
    TAG_AUDIT_HEAD, TAG_AUDIT_RECORD, TAG_APPROVAL_RECORD, TAG_APPROVED_BY, TAG_APPROVED_AT,
    TAG_MODEL_DIGEST, TAG_PROMOTION_OUTCOME, TAG_PROMOTION_DECIDED_BY, TAG_PROMOTION_DECIDED_AT,
    TAG_PROMOTION_REASONS, TAG_PROMOTION_PREVIOUS_CHAMPION,
})
# Value of TAG_DATA_VALIDATION once the data contract held.
DATA_VALIDATION_PASSED = "passed"
# Where a project keeps the JSON-lines audit log of gate decisions and approvals (committed).
AUDIT_LOG_FILE = "governance/audit.jsonl"

# Names the platform's Kubernetes objects carry and the policy pack reads (the pack keeps its
# own copy in platform_rules/conventions.py, because it is published alone; a test keeps them
# equal).
APPROVED_BY_ANNOTATION = "mlops.platform/approved-by"
MODEL_URI_ENV = "MLSERVER_MODEL_URI"
POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
# The pod annotations an annotation-driven Prometheus scrapes by (the policy pack reads them).
SCRAPE_ANNOTATION = "prometheus.io/scrape"
SCRAPE_PORT_ANNOTATION = "prometheus.io/port"
