"""The catalogue of ML governance controls, by maturity level (Google's MLOps levels 0-2).

Data, not code: each control names the evidence it needs as (check kind,
arguments) pairs from ``governance/checks.py``; a control passes when all of them do
(one not verified leaves it not verified, which is not passed). Evidence is produced,
not read off mentions: the checker runs the tests and a broken copy of the guarded code,
runs steps on good and corrupted data, dry-runs make targets, reads CI as YAML and asks
the registry. A project reaches level N when every control of levels 0..N passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_platform import contract as ml_contract
from mlops_platform.governance.ci_config import PULL_REQUEST, PUSH, SCHEDULE

LEVELS = (0, 1, 2)
LEVEL_NAMES = {0: "manual", 1: "pipeline automation", 2: "CI/CD automation"}

Evidence = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Control:
    id: str
    level: int
    title: str
    description: str
    evidence: tuple[Evidence, ...]
    # A practice of a template option no level requires: it earns ML Test Score credit only.
    optional: bool = False

    @property
    def how_checked(self) -> str:
        return "; ".join(f"{kind}({', '.join(f'{k}={v}' for k, v in args.items())})"
                         for kind, args in self.evidence)


GOVERNANCE_KEYS = [ml_contract.PARAM_MATURITY_LEVEL, ml_contract.PARAM_MODEL_NAME,
                   ml_contract.PARAM_PRIMARY_METRIC, ml_contract.PARAM_THRESHOLD,
                   ml_contract.PARAM_TOLERANCE, ml_contract.PARAM_HIGHER_IS_BETTER]

CATALOGUE: tuple[Control, ...] = (
    # Level 0: manual process, but every experiment tracked and every promotion gated.
    Control("L0-platform", 0, "Wired to the platform",
            "The project names its tracking server and registry in the platform outputs file.",
            (("platform_outputs", {}),)),
    Control("L0-tracking", 0, "Experiments are tracked",
            "Training logs parameters, metrics and the model to the tracking server.",
            (("module_code", {"module": "train",
                              "names": ["mlflow.start_run", "log_params", "log_model"]}),
             ("tracked_run", {}))),
    Control("L0-lineage", 0, "Runs carry their lineage",
            "Every run records git commit, data version, data set, parameters and validation "
            "status as tags; registered versions keep them.",
            (("module_code", {"module": "train", "names": ["lineage_tags"]}),
             ("registry_lineage", {}))),
    Control("L0-data-versioned", 0, "Data under version control",
            "DVC versions the data; the prepared data set is a DVC output its step writes.",
            (("files", {"paths": [".dvc/config", "dvc.yaml"]}),
             ("stage_output", {"stage": "prepare", "path": "data/prepared"}),
             ("run_stage", {"stage": "prepare"}))),
    Control("L0-governance-params", 0, "Governance parameters declared",
            "params.yaml declares the maturity level, the model name and the promotion rule.",
            (("params_keys", {"keys": GOVERNANCE_KEYS}),)),
    Control("L0-tests", 0, "Unit and data tests exist",
            "The project's tests pass, and fail when the feature code or the data contract "
            "is broken.",
            (("tests_guard", {"guards": ["features.feature_columns", "features.build_model"],
                              "what": "the feature code"}),
             ("tests_guard", {"guards": ["contract.check_frame"],
                              "what": "the data contract"}))),
    Control("L0-ci-tests", 0, "Tests run on every pull request",
            "CI runs the tests on pull requests.",
            (("ci_runs", {"target": "test", "trigger": PULL_REQUEST}),
             ("make_target", {"target": "test", "calls": "pytest"}))),
    Control("L0-model-card", 0, "Model card",
            "Each evaluation writes a model card from the run (reports/model_card.md).",
            (("module_code", {"module": "model_card", "names": ["def render_model_card"]}),
             ("stage_output", {"stage": "evaluate", "path": "reports/model_card.md"}),
             ("stages_current", {"stages": ["evaluate"]}))),
    Control("L0-promotion-gate", 0, "Promotion only through the gate",
            "Promoting a model runs the platform's promotion gate (mlops-policy promote); the "
            "registry's champion carries the gate's decision.",
            (("make_target", {"target": "promote", "calls": "mlops-policy promote"}),
             ("registry_champion_gated", {}))),
    # Level 1: the pipeline is automated, with validation gates and continuous training.
    Control("L1-pipeline", 1, "Reproducible pipeline",
            "`dvc repro` runs prepare -> validate -> train -> evaluate -> register, and the "
            "outputs are those of the current code.",
            (("dvc_stages", {"stages": ["prepare", "validate", "train", "evaluate",
                                        "register"]}),
             ("make_target", {"target": "pipeline", "calls": "dvc repro"}),
             ("stages_current", {"stages": ["prepare", "validate", "train", "evaluate",
                                            "register"]}))),
    Control("L1-data-validation", 1, "Data validation gate",
            "A pipeline stage checks the data contract before training and refuses "
            "corrupted data.",
            (("files", {"paths": ["data_contract.yaml"]}),
             ("stage_output", {"stage": "validate", "path": "reports/validation.json"}),
             ("validation_refuses", {}))),
    Control("L1-model-validation", 1, "Model validation gate",
            "Model-quality tests check the promotion threshold (they fail when the metrics "
            "are broken); evaluation is a stage.",
            (("tests_guard", {"guards": ["evaluate.compute_metrics"],
                              "what": "model quality"}),
             ("stage_output", {"stage": "evaluate", "path": "reports/metrics.json"}))),
    Control("L1-registry-aliases", 1, "Registry aliases",
            "New versions become `challenger`; only the gate moves `champion`.",
            (("module_code", {"module": "register", "names": ["ALIAS_CHALLENGER"]}),
             ("stages_current", {"stages": ["register"]}))),
    Control("L1-promotion-stage", 1, "Automated promotion gate",
            "Promotion through the gate is a stage of the pipeline.",
            (("dvc_stages", {"stages": ["promote"]}),
             ("module_code", {"module": "promote", "names": ["promote"]}))),
    Control("L1-tuning", 1, "Hyperparameters are tuned",
            "A tune stage searches params.yaml's grid by cross-validation on the training split; "
            "the registered run was trained with its best candidate.",
            (("dvc_stages", {"stages": ["tune"]}),
             ("stage_output", {"stage": "tune", "path": "reports/tuning.json"}),
             ("stages_current", {"stages": ["tune", "train"]}),
             ("tests_guard", {"guards": ["tune.search"], "what": "the hyperparameter search"}),
             ("tuned_run", {"record": "reports/tuning.json"}))),
    Control("L1-baseline", 1, "The model beats a trivial baseline",
            "The evaluate stage refuses a model whose primary metric does not beat a trivial "
            "model's (the tests check it); the checker measures both on the test split.",
            (("tests_guard", {"guards": ["evaluate.baseline_metrics"],
                              "what": "the baseline comparison"}),
             ("stages_current", {"stages": ["evaluate"]}),
             ("baseline_beaten", {"train_file": "data/prepared/train.csv"}))),
    Control("L1-slices", 1, "Quality holds on every data slice",
            "params.yaml declares data slices and a floor; the tests hold every slice to it and "
            "the evaluate stage logs the metric per slice.",
            (("params_keys", {"keys": ["slices.bins", "slices.min_accuracy"]}),
             ("tests_guard", {"guards": ["evaluate.slice_metrics"],
                              "what": "the metric per data slice"}),
             ("run_metrics", {"prefix": "slice_", "what": "the accuracy per data slice"}))),
    Control("L1-numerical-stability", 1, "The model is numerically stable",
            "Training refuses a model that did not converge or predicts non-finite values; the "
            "tests check it.",
            (("module_code", {"module": "train", "names": ["numerical_problems"]}),
             ("tests_guard", {"guards": ["train.numerical_problems"],
                              "what": "numerical stability"}))),
    Control("L1-continuous-training", 1, "Continuous training",
            "CI retrains on a schedule (and the main branch runs the full pipeline).",
            (("ci_runs", {"target": "pipeline", "trigger": PUSH}),
             ("ci_runs", {"target": "retrain", "trigger": SCHEDULE}),
             ("make_target", {"target": "retrain", "calls": "dvc repro"}))),
    # Level 2: CI/CD automation, GitOps deployment, monitoring closes the loop.
    Control("L1-feature-skew", 1, "Training and serving read the same feature values",
            "With a feature store (feature_store=feast), evaluation compares the online "
            "store's values of sampled keys with the offline ones training read, and none "
            "differ. Optional: no level requires a feature store.",
            (("module_code", {"module": "evaluate", "names": ["skew_check"]}),
             ("feature_skew", {"limit": 0.0})),
            optional=True),
    Control("L2-pr-pipeline", 2, "Pull requests run the pipeline on a sample",
            "CI runs the pipeline on a data sample and reports the metrics against the champion.",
            (("ci_runs", {"target": "pipeline-sample", "trigger": PULL_REQUEST}),
             ("ci_runs", {"target": "metrics-diff", "trigger": PULL_REQUEST}),
             ("make_target", {"target": "metrics-diff",
                              "calls": "mlops_platform.ci.metrics_diff"}))),
    Control("L2-staged-delivery", 2, "A second person's approval promotes and deploys",
            "After a merge trains the challenger, a CI job that another person starts (the "
            "approver: the CI platform's identity, not who trained) approves it, promotes it "
            "through the gate and deploys it to staging from git.",
            (("ci_runs", {"target": "approve", "trigger": "manual"}),
             ("ci_runs", {"target": "promote", "trigger": "manual"}),
             ("ci_runs", {"target": "deploy", "trigger": "manual"}))),
    Control("L2-prod-approval", 2, "Production behind an approval",
            "Deploying to prod waits for a human approval; the gate requires a recorded one.",
            (("ci_approval", {"target": "deploy", "environment": "prod"}),
             ("make_target", {"target": "approve", "calls": "mlops-policy approve"}))),
    Control("L2-gitops-serving", 2, "Serving deployed from git",
            "deploy/<env>.yaml declares what serves where; a change to it is the deployment.",
            (("deploy_manifests", {"environments": ["staging", "prod"]}),
             ("make_target", {"target": "deploy", "calls": "mlops-deploy deploy"}))),
    Control("L2-drift-retraining", 2, "Drift monitoring triggers retraining",
            "A scheduled drift check compares served inputs with the training data and "
            "triggers retraining.",
            (("ci_runs", {"target": "drift", "trigger": SCHEDULE}),
             ("make_target", {"target": "drift"}),
             ("module_code", {"module": "monitor", "names": ["drift_cli"]}))),
    Control("L2-staleness", 2, "A stale champion triggers retraining",
            "The scheduled monitoring job exits 1, which retrains, when the champion is older "
            "than params.yaml's monitoring.max_model_age_days.",
            (("params_keys", {"keys": ["monitoring.max_model_age_days"]}),
             ("module_code", {"module": "monitor", "names": ["check_staleness"]}),
             ("tests_guard", {"guards": ["monitor.staleness_problem"],
                              "what": "the staleness check"}))),
    Control("L2-serving-contract", 2, "Served inputs keep the data contract",
            "The model server checks every request against data_contract.yaml: it lets the "
            "project's own data through and refuses the data corrupted.",
            (("module_code", {"module": "serve", "names": ["serve_cli"]}),
             ("serving_contract_refuses", {}))),
    Control("L2-canary", 2, "A challenger reaches production through a canary",
            "A scheduled job steps a challenger's share of production rows up by canary.yaml "
            "while it keeps the champion's failure rate, prediction time and accuracy, and "
            "rolls it back otherwise, each change a GitOps commit and an audit record.",
            (("files", {"paths": ["canary.yaml"]}),
             ("make_target", {"target": "canary"}),
             ("module_code", {"module": "canary", "names": ["canary_cli"]}),
             ("ci_runs", {"target": "canary", "trigger": SCHEDULE}))),
    Control("L2-explanations", 2, "Each prediction can be explained",
            "The registered model explains a single prediction step by step: each feature's "
            "contribution to its score, adding up to the score (the served model's /explain), "
            "and the model card summarises them.",
            (("module_code", {"module": "evaluate", "names": ["global_importance"]}),
             ("explained_prediction", {}))),
    Control("L2-rollback", 2, "Rollback is one revert",
            "A rollback job puts the previous version back through git.",
            (("make_target", {"target": "rollback", "calls": "mlops-deploy rollback"}),
             ("ci_runs", {"target": "rollback", "trigger": "manual"}))),
)

CONTROLS_BY_ID = {control.id: control for control in CATALOGUE}


def controls_of_level(level: int) -> list[Control]:
    return [control for control in CATALOGUE if control.level == level]
