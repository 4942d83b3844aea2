"""The platform's public API for generated projects: the one module a project imports.

A baked project imports ``mlops_platform.api`` and nothing else of the package
(``tests/template/test_project_api.py`` bakes every option and keeps it so), so the modules
behind it can move without breaking a project baked earlier. Each name is loaded when first
used: a step that needs only the data contract's names does not import MLflow or Evidently.

Versioning (docs/reference/project-api.md): ``API_VERSION`` grows when a name is added. A
name is never removed or changed in one step: it first moves to ``DEPRECATED`` (old name ->
the name replacing it), where it still works for at least one minor release of the wheel and
warns (``DeprecationWarning``) with its replacement; ``make update`` brings a project the
template's new imports.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

API_VERSION = 2

# name -> (module, attribute); attribute None: the module itself.
EXPORTS: dict[str, tuple[str, str | None]] = {
    # The names shared by the platform, its pods and projects: aliases, tags, outputs.
    "contract": ("mlops_platform.contract", None),
    "OUTPUT_KEYS": ("mlops_platform.contract", "OUTPUT_KEYS"),
    "PlatformOutputs": ("mlops_platform.contract", "PlatformOutputs"),
    "PlatformOutputsError": ("mlops_platform.contract", "PlatformOutputsError"),
    "read_outputs": ("mlops_platform.contract", "read_outputs"),
    # params.yaml: the platform's schema a project extends, and its errors.
    "params": ("mlops_platform.params", None),
    "ParamsError": ("mlops_platform.params", "ParamsError"),
    "PlatformParams": ("mlops_platform.params", "PlatformParams"),
    "Section": ("mlops_platform.params", "Section"),
    "PRIMARY_METRICS": ("mlops_platform.scaffold.options", "PRIMARY_METRICS"),
    # Where the platform is and whether it answers.
    "unreachable_problem": ("mlops_platform.client.tracking", "unreachable_problem"),
    "use_client_environment": ("mlops_platform.client.tracking", "use_client_environment"),
    # Training: the labelled served rows to learn from, who trained, the serving path.
    "labelled_training_rows": ("mlops_platform.governance.evaluation", "labelled_training_rows"),
    "trainer_identity": ("mlops_platform.governance.approvals", "trainer_identity"),
    "choose_serving_path": ("mlops_platform.onnx_export", "choose_serving_path"),
    "global_importance": ("mlops_platform.explanations", "global_importance"),
    "log_serving_path": ("mlops_platform.onnx_export", "log_serving_path"),
    # The Feast feature store of a project baked with feature_store=feast.
    "feature_store": ("mlops_platform.feature_store", None),
    # The promotion gate.
    "promote_project": ("mlops_platform.governance.promotion_gate", "promote_project"),
    "commit_note": ("mlops_platform.governance.audit_log", "commit_note"),
    "USER_ERRORS": ("mlops_platform.governance.errors", "USER_ERRORS"),
    # Serving, scoring and the checks of what was served (each the function behind its
    # mlops-* command, called with that command's arguments).
    "PREDICTION_LOG_NAME": ("mlops_platform.serving", "PREDICTION_LOG_NAME"),
    "serve_cli": ("mlops_platform.serving", "main"),
    "score_cli": ("mlops_platform.batch_scoring", "main"),
    "drift_cli": ("mlops_platform.drift", "main"),
    "DriftInputError": ("mlops_platform.drift", "DriftInputError"),
    "served_location": ("mlops_platform.drift", "served_location"),
    "labels_location": ("mlops_platform.drift", "labels_location"),
    "labelled_data_cli": ("mlops_platform.labelled_data", "main"),
    "performance_cli": ("mlops_platform.performance", "main"),
    "CHAMPION": ("mlops_platform.performance", "CHAMPION"),
    "ab_report_cli": ("mlops_platform.ab_test", "main"),
    "AB_TEST_PLAN_FILE": ("mlops_platform.ab_test", "PLAN_FILE"),
    "canary_cli": ("mlops_platform.canary", "main"),
    # Exit status 2 of every check above: it could not decide (0 and 1 are its verdicts).
    "UNCHECKED": ("mlops_platform.performance", "UNCHECKED"),
    # A project's GitOps program (deploy/).
    "deploy_manifest_file": ("mlops_platform.deploy.program", "deploy_manifest_file"),
}

# Old name -> the name that replaces it; each still works, with a DeprecationWarning.
DEPRECATED: dict[str, str] = {}

# The modules a project's Makefile and CI run with `python -m`: the same promise as the names.
COMMANDS = (
    "mlops_platform.ci.ci_commands",
    "mlops_platform.ci.metrics_diff",
    "mlops_platform.ci.pr_comment",
    "mlops_platform.ci.verdict",
    "mlops_platform.lock_env",
    "mlops_platform.scaffold.repository",
    "mlops_platform.scaffold.update",
)

__all__ = ["API_VERSION", *EXPORTS]


def __getattr__(name: str) -> Any:
    if name in DEPRECATED:
        replacement = DEPRECATED[name]
        warnings.warn(f"mlops_platform.api.{name} is deprecated: use {replacement} (make "
                      "update brings the template's imports)", DeprecationWarning, stacklevel=2)
        return __getattr__(replacement)
    if name not in EXPORTS:
        raise AttributeError(f"mlops_platform.api has no {name!r}: a project may use "
                             f"{', '.join(__all__)} (docs/reference/project-api.md)")
    module_name, attribute = EXPORTS[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


def __dir__() -> list[str]:
    return sorted([*__all__, *DEPRECATED])
