"""Run the Pulumi program of a stack in-process under Pulumi's mocks and record what it creates.

No CLI, no provider plugin, no cluster: the program registers its resources
with a mock monitor, which keeps each one's type, name, URN and wire inputs
(camelCase, as the provider would receive them). The runtime keeps global
state, so every call resets the mocks, the settings and the config first:
repeated calls in one process are independent.

The platform's program is found by name, as `pulumi up` finds a program in its folder:
``MLOPS_PULUMI_PROGRAM`` (default ``infra``, importable from the repository's root, where
`make` runs) names a package whose ``program.build_platform`` builds the stack and whose
``config`` gives ``PROJECT``, ``STACKS``, ``SECRET_KEYS`` and ``ConfigError``; its stack files
(``Pulumi.<stack>.yaml``) sit in the folder that holds it.
"""

from __future__ import annotations

import functools
import gc
import importlib
import json
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROGRAM_ENV = "MLOPS_PULUMI_PROGRAM"
DEFAULT_PROGRAM = "infra"
# The wire form of a secret value (the Pulumi protocol's "special signature" of secrets).
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # noqa: S105
SECRET_SIGNATURE_VALUE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105
SECRET_PLACEHOLDER = "redacted-secret"  # noqa: S105
MOCK_PASSWORD = "mock-password-0123456789abcdef"  # noqa: S105 - what the mock engine returns


@dataclass(frozen=True)
class RecordedResource:
    type_: str
    name: str
    urn: str
    inputs: dict[str, Any]


@dataclass
class RecordedStack:
    resources: list[RecordedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    # URN -> the URNs it waits for (depends_on and the resources its inputs come from).
    dependencies: dict[str, set[str]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type_ == type_]


@dataclass(frozen=True)
class PlatformProgram:
    """The Pulumi program these tools run, and what it says about its stacks."""

    build: Callable[[], Mapping[str, Any] | None]
    project: str
    stacks: tuple[str, ...]
    secret_keys: tuple[str, ...]
    config_error: type[Exception]
    root: Path  # the folder of its Pulumi.<stack>.yaml files


@functools.cache
def platform_program() -> PlatformProgram:
    name = os.environ.get(PROGRAM_ENV, DEFAULT_PROGRAM)
    try:
        config = importlib.import_module(f"{name}.config")
        program = importlib.import_module(f"{name}.program")
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"the Pulumi program {name!r} is not importable ({err}): run from the platform "
            f"repository's root, where infra/ is, or set {PROGRAM_ENV}") from err
    return PlatformProgram(program.build_platform, config.PROJECT, tuple(config.STACKS),
                           tuple(config.SECRET_KEYS), config.ConfigError,
                           Path(config.__file__).resolve().parents[1])


class _RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs back as state, plus the outputs the engine would compute."""

    def __init__(self, stack_references: Mapping[str, Mapping[str, Any]]) -> None:
        self.inputs_by_id: dict[str, dict[str, Any]] = {}
        self.stack_references = stack_references
        self._lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        with self._lock:
            resource_id = f"{args.name}-id-{len(self.inputs_by_id)}"
            self.inputs_by_id[resource_id] = args.inputs
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = MOCK_PASSWORD
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name", args.name)
            if name not in self.stack_references:
                raise KeyError(f"the program reads stack {name!r}; pass its outputs in "
                               f"stack_references (known: {sorted(self.stack_references)})")
            exported = self.stack_references[name]
            state |= {
                "outputs": {key: value.value if isinstance(value, SecretValue) else value
                            for key, value in exported.items()},
                "secretOutputNames": [key for key, value in exported.items()
                                      if isinstance(value, SecretValue)],
            }
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
        return {}, None


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording_mocks = mocks
        self.registered: list[tuple[str, str, str, str]] = []
        self.dependencies: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            with self._lock:
                self.registered.append((request.type, request.name, response.urn, response.id))
                self.dependencies[response.urn] = set(request.dependencies)
        return response


def stack_settings(stack: str) -> dict[str, Any]:
    """The `mlops-platform:` settings of a committed `Pulumi.<stack>.yaml`, keys unprefixed."""
    path = platform_program().root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; committed stacks: "
                                f"{', '.join(p.stem.split('.', 1)[1] for p in _stack_files())}")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    prefix = f"{platform_program().project}:"
    return {key.removeprefix(prefix): value for key, value in config.items()
            if key.startswith(prefix)}


def _stack_files() -> list[Path]:
    return sorted(platform_program().root.glob("Pulumi.*.yaml"))


def run_program(program: Callable[[], Mapping[str, Any] | None], *, project: str | None = None,
                stack: str = "dev", config: Mapping[str, Any] | None = None,
                secret_keys: tuple[str, ...] = (),
                stack_references: Mapping[str, Mapping[str, Any]] | None = None
                ) -> RecordedStack:
    """Run any Pulumi program function under mocks; record its resources and returned outputs.

    ``config`` holds full keys (`project:key`) and values (structured ones as
    dicts/lists); ``secret_keys`` lists the full keys to treat as secrets;
    ``stack_references`` maps a referenced stack's name to the outputs it exports
    (a `run_stack(...).outputs` works: its `SecretValue`s become secret outputs).
    ``project`` defaults to the platform program's.
    """
    project = project or platform_program().project
    mocks = _RecordingMocks(stack_references or {})
    monitor = _RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False,
                             monitor=monitor)
    # Mock settings keep the set of pending outputs of the previous run (a failed one
    # leaves tasks there that would fail this run too).
    pulumi_settings.SETTINGS.outputs.clear()
    set_all_config({key: value if isinstance(value, str) else json.dumps(value)
                    for key, value in (config or {}).items()}, list(secret_keys))
    outputs: dict[str, Any] = {}

    async def resolve_outputs() -> None:
        for key, value in (program() or {}).items():
            outputs[key] = await _resolve(value)

    try:
        _sync_await(run_pulumi_func(resolve_outputs))
    except BaseException:
        _drop_aborted_run()
        raise
    # Registration order depends on thread timing; URN order makes runs comparable.
    resources = sorted((RecordedResource(type_, name, urn, mocks.inputs_by_id[id_])
                        for type_, name, urn, id_ in monitor.registered
                        if id_ in mocks.inputs_by_id), key=lambda resource: resource.urn)
    return RecordedStack(resources, outputs, monitor.dependencies)


def run_stack(stack: str, config_overrides: Mapping[str, Any] | None = None, *,
              secret_keys: tuple[str, ...] | None = None) -> RecordedStack:
    """Run the platform program of ``stack`` (its committed settings plus overrides).

    ``secret_keys`` are the settings to treat as set with `pulumi config set --secret`
    (by default every overridden setting the program declares secret).
    """
    platform = platform_program()
    settings = {**stack_settings(stack), **(config_overrides or {})}
    if secret_keys is None:
        secret_keys = tuple(key for key in settings if key in platform.secret_keys)
    project = platform.project
    return run_program(platform.build, project=project, stack=stack,
                       config={f"{project}:{key}": value for key, value in settings.items()},
                       secret_keys=tuple(f"{project}:{key}" for key in secret_keys))


def _drop_aborted_run() -> None:
    """Forget what a failed program left pending, so the next run starts clean and quiet."""
    pulumi_settings.SETTINGS.outputs.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # coroutines nobody will await now
        gc.collect()


async def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    resolved = await output.future()
    return SecretValue(resolved) if await output.is_secret() else resolved


@dataclass(frozen=True)
class SecretValue:
    """An exported value Pulumi keeps secret (shown as `[secret]` by `pulumi stack output`)."""

    value: Any


def record_stack(stack: str, config_overrides: Mapping[str, Any] | None = None
                 ) -> list[RecordedResource]:
    """Every resource the program of ``stack`` registers, ordered by URN."""
    return run_stack(stack, config_overrides).resources


def unwrap_secrets(value: Any, *, redact: bool = False) -> Any:
    """Replace wire-wrapped secrets by their value (or a placeholder when ``redact``)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIGNATURE) == SECRET_SIGNATURE_VALUE:
            inner = unwrap_secrets(value.get("value"))
            return _redacted(inner) if redact else inner
        return {key: unwrap_secrets(item, redact=redact) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item, redact=redact) for item in value]
    return value


def _redacted(value: Any) -> Any:
    """Keep the shape (keys of a Secret's data) and hide every value."""
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return SECRET_PLACEHOLDER
