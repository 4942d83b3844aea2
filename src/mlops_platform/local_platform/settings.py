"""What the embedded local platform is asked to be: one typed, validated object."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlops_platform.contract import LOCAL_PLATFORM_PORT, LOCAL_STATE_DIR

DEFAULT_STATE_DIR = Path(LOCAL_STATE_DIR)


class S3ArtifactStore(BaseModel):
    """Artifacts proxied by the server into an S3 bucket; credentials come from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(min_length=3)
    endpoint_url: str = ""
    prefix: str = "mlflow"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


class LocalPlatformSettings(BaseModel):
    """The local platform's options; every CLI flag maps to one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: Path = DEFAULT_STATE_DIR
    host: str = "127.0.0.1"
    port: int | None = Field(
        default=None, ge=0, le=65535,
        description=f"None: the last `up`'s port, else {LOCAL_PLATFORM_PORT} if free, else a "
        "free one; 0: any free port",
    )
    backend_store_uri: str = Field(default="", description="empty: SQLite in the state directory")
    s3: S3ArtifactStore | None = None
    metrics_port: int = Field(default=0, ge=0, le=65535,
                              description="the tracking server's metrics port; 0: any free port")
    startup_timeout: float = 90.0
    auth: bool = Field(default=False, description="basic auth and the champion guard: only the "
                       "promotion gate's user moves `champion` (as on Kubernetes)")

    @field_validator("state_dir")
    @classmethod
    def _absolute_state_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("backend_store_uri")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgresql+")):
            raise ValueError(
                f"backend store {value!r} is not supported: use a sqlite:/// path or a "
                "postgresql:// URL"
            )
        return value

    @model_validator(mode="after")
    def _loopback_only(self) -> LocalPlatformSettings:
        if self.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError(
                f"host {self.host!r} is not a loopback address: the local platform has no "
                "auth, so it listens on 127.0.0.1 only; use the Kubernetes platform to share it"
            )
        return self

    @property
    def effective_backend_store_uri(self) -> str:
        return self.backend_store_uri or f"sqlite:///{self.state_dir / 'mlflow.db'}"

    @property
    def artifact_store_uri(self) -> str:
        if self.s3:
            return self.s3.uri
        return (self.state_dir / "artifacts").as_uri()

    @property
    def artifacts_destination(self) -> str:
        return self.s3.uri if self.s3 else str(self.state_dir / "artifacts")

    def server_environment(self) -> dict[str, str]:
        env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        if self.s3 and self.s3.endpoint_url:
            env["MLFLOW_S3_ENDPOINT_URL"] = self.s3.endpoint_url
        return env

    def missing_s3_credentials(self) -> list[str]:
        if not self.s3:
            return []
        needed = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        return [name for name in needed if not os.environ.get(name)]
