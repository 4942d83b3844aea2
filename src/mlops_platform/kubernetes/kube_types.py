"""Kubernetes value types shared by the stack config and the deployment manifests.

Each type validates a value the way the API server would, so a typo fails when
the program starts instead of halfway through `pulumi up`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")
_NOT_IN_LABEL = re.compile(r"[^a-z0-9]+")
_CPU = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<unit>m?)$")
_MEMORY = re.compile(r"^(?P<number>[0-9]+)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_FACTORS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                   "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}

# Room for the suffixes the components append ("-backup", "-bucket-setup", "-drift").
MAX_NAME_LENGTH = 40


def _dns_label(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH or not _DNS_LABEL.match(value):
        raise ValueError(
            f"must be a DNS-1123 label of at most {MAX_NAME_LENGTH} characters "
            "(lower-case letters, digits and '-', starting and ending with a letter or digit)")
    return value


def dns_label_from(value: str) -> str:
    """A DNS-1123 label derived from any name: lower case, runs of other characters as '-'."""
    label = _NOT_IN_LABEL.sub("-", value.lower()).strip("-")
    return label[:MAX_NAME_LENGTH].rstrip("-")


def _dns_name(value: str) -> str:
    if len(value) > 253 or not _DNS_NAME.match(value):
        raise ValueError("must be a DNS name such as mlflow.example.com")
    return value


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
        raise ValueError("must be a cron schedule of five fields, e.g. '0 3 * * *'")
    return value


def cpu_millicores(value: str) -> float:
    match = _CPU.match(value)
    if not match:
        raise ValueError("must be a CPU quantity such as 250m, 0.5 or 2")
    number = float(match["number"])
    return number if match["unit"] == "m" else number * 1000


def memory_bytes(value: str) -> int:
    match = _MEMORY.match(value)
    if not match:
        raise ValueError("must be a memory quantity such as 512Mi or 2Gi")
    return int(match["number"]) * _MEMORY_FACTORS[match["unit"]]


def _cpu(value: str) -> str:
    cpu_millicores(value)
    return value


def _memory(value: str) -> str:
    memory_bytes(value)
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
CronSchedule = Annotated[str, AfterValidator(_cron)]
CpuQuantity = Annotated[str, AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_memory)]


class ResourceAmounts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: CpuQuantity
    memory: MemoryQuantity


class Resources(BaseModel):
    """Requests and limits of one container; both are required on every container."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: ResourceAmounts
    limits: ResourceAmounts

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Resources:
        if cpu_millicores(self.limits.cpu) < cpu_millicores(self.requests.cpu):
            raise ValueError(f"limits.cpu {self.limits.cpu} is below requests.cpu "
                             f"{self.requests.cpu}")
        if memory_bytes(self.limits.memory) < memory_bytes(self.requests.memory):
            raise ValueError(f"limits.memory {self.limits.memory} is below requests.memory "
                             f"{self.requests.memory}")
        return self

    def to_kubernetes(self) -> dict[str, dict[str, str]]:
        return self.model_dump()


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    return Resources(requests=ResourceAmounts(cpu=cpu, memory=memory),
                     limits=ResourceAmounts(cpu=cpu_limit, memory=memory_limit))
