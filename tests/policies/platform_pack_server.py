"""Start the platform pack the way the Pulumi CLI does and talk to it over gRPC.

The CLI runs `python -m pulumi.policy <engine address> <pack dir>` in the pack's
directory with the stack in the environment; the pack prints the port of its
analyzer server on stdout and serves until stopped.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import proto

from mlops_platform.processes import stop_process_group

PACK_DIR = Path(__file__).resolve().parents[2] / "policies" / "platform_pack"
LEVELS = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY,
          "disabled": proto.DISABLED, "remediate": proto.REMEDIATE}
START_TIMEOUT = 30.0


class PackStartError(RuntimeError):
    """The pack exited or printed no port; the message carries its output."""


@contextlib.contextmanager
def running_pack(stack: str) -> Iterator[proto.AnalyzerStub]:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PULUMI_PROJECT": "mlops-platform", "PULUMI_STACK": stack,
             "PULUMI_DRY_RUN": "true"})
    try:
        port = _read_port(process)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT)
            yield proto.AnalyzerStub(channel)
    finally:
        stop_process_group(process.pid)
        if process.stdout:
            process.stdout.close()


def _read_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=START_TIMEOUT):
            raise PackStartError(f"the pack printed no port within {START_TIMEOUT:.0f} s")
    line = process.stdout.readline().decode().strip()
    if not line.isdigit():
        raise PackStartError(f"the pack did not start; it said:\n{line}\n"
                             f"{process.stdout.read().decode()}")
    return int(line)


def struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(value))
    return message


def configure(stub: proto.AnalyzerStub, config_file: Mapping[str, Any]) -> None:
    """Send a `--policy-pack-config` file as the CLI does: `all` spread over every policy."""
    default = config_file.get("all")
    request = proto.ConfigureAnalyzerRequest()
    for name, value in config_file.items():
        if name == "all":
            continue
        settings = dict(value)
        level = settings.pop("enforcementLevel", default)
        request.policyConfig[name].CopyFrom(proto.PolicyConfig(
            enforcementLevel=LEVELS[level] if level else proto.ADVISORY,
            properties=struct(settings)))
    stub.Configure(request)


def analyze(stub: proto.AnalyzerStub, type_: str, name: str,
            props: Mapping[str, Any]) -> proto.AnalyzeResponse:
    return stub.Analyze(proto.AnalyzeRequest(
        type=type_, name=name, urn=urn(type_, name), properties=struct(props)))


def analyze_stack(stub: proto.AnalyzerStub,
                  resources: list[tuple[str, str, Mapping[str, Any]]]) -> proto.AnalyzeResponse:
    return stub.AnalyzeStack(proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(type=type_, name=name, urn=urn(type_, name),
                               properties=struct(props))
        for type_, name, props in resources]))


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::mlops-platform::{type_}::{name}"
