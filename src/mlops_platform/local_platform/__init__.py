"""The embedded local platform: the MLflow tracking server and registry on 127.0.0.1."""

from mlops_platform.local_platform.platform import PlatformError, UpResult, down, status, up
from mlops_platform.local_platform.settings import LocalPlatformSettings, S3ArtifactStore

__all__ = [
    "LocalPlatformSettings",
    "PlatformError",
    "S3ArtifactStore",
    "UpResult",
    "down",
    "status",
    "up",
]
