"""Model versions as the gate sees them: tags (version over run), metrics, model card."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_platform import contract as ml_contract

if TYPE_CHECKING:
    from mlflow import MlflowClient


class RegistryError(LookupError):
    """A model or version the command needs is not in the registry; the message says which."""


@dataclass(frozen=True)
class VersionFacts:
    model_name: str
    version: str
    run_id: str
    tags: dict[str, str]  # the run's tags, overridden by the version's own
    metrics: dict[str, float]
    artifacts: frozenset[str]

    @property
    def has_model_card(self) -> bool:
        return ml_contract.MODEL_CARD_ARTIFACT in self.artifacts

    @property
    def has_explanations(self) -> bool:
        return ml_contract.EXPLAINABILITY_ARTIFACT in self.artifacts


@contextlib.contextmanager
def refusals_named(what: str) -> Iterator[None]:
    """The server's refusal (the champion guard, MLflow's permissions) of `what` as a
    RegistryError: one line naming what was refused and why."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as err:
        if err.error_code != "PERMISSION_DENIED":
            raise
        raise RegistryError(f"the registry refused to {what}: {err.message}") from err


def resolve_version(client: MlflowClient, model_name: str, version: str | None,
                    alias: str = ml_contract.ALIAS_CHALLENGER) -> str:
    """The version asked for, or the one `alias` points at."""
    from mlflow.exceptions import MlflowException

    try:
        if version is not None:
            return str(client.get_model_version(model_name, str(version)).version)
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as err:
        what = f"version {version}" if version is not None else f"version aliased {alias!r}"
        raise RegistryError(
            f"registered model {model_name!r} has no {what} at {client.tracking_uri}: run the "
            "pipeline (`make pipeline`) to register one, or pass an existing --version"
        ) from err


def champion_version(client: MlflowClient, model_name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, ml_contract.ALIAS_CHAMPION)
                   .version)
    except MlflowException:
        return None


def version_facts(client: MlflowClient, model_name: str, version: str) -> VersionFacts:
    model_version = client.get_model_version(model_name, version)
    run_id = model_version.run_id or ""
    run_tags: dict[str, str] = {}
    metrics: dict[str, float] = {}
    artifacts: frozenset[str] = frozenset()
    if run_id:
        run = client.get_run(run_id)
        # A run tag never stands in for a gate-only version tag: the writer sets run tags.
        run_tags = {key: value for key, value in run.data.tags.items()
                    if key not in ml_contract.GATE_ONLY_TAGS}
        metrics = dict(run.data.metrics)
        artifacts = frozenset(item.path for item in client.list_artifacts(run_id))
    return VersionFacts(model_name=model_name, version=str(version), run_id=run_id,
                        tags={**run_tags, **dict(model_version.tags)}, metrics=metrics,
                        artifacts=artifacts)
