"""The digest of a registered model version's files: recorded by the gate, checked on use.

A version's files are what ``models:/<name>/<version>`` downloads. Each file has its sha256
(keyed by its path inside the folder, ``/``-separated); the version's digest is the sha256 of
the sorted ``<sha256>  <path>`` lines, written ``sha256:<hex>``. The promotion gate records it
in its audit record and as the gate-only version tag ``contract.TAG_MODEL_DIGEST``; serving and
``mlops-policy audit verify`` download the files again and compare.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Written by MLflow's client into every download of a models:/ URI, not stored with the model.
CLIENT_WRITTEN = frozenset({"registered_model_meta"})
CHUNK = 2**20


@dataclass(frozen=True)
class ModelDigest:
    files: dict[str, str]  # path inside the version's folder -> sha256

    @property
    def value(self) -> str:
        listing = "".join(f"{digest}  {path}\n" for path, digest in sorted(self.files.items()))
        return f"sha256:{hashlib.sha256(listing.encode()).hexdigest()}"

    def differences(self, recorded: dict[str, str]) -> list[str]:
        """The paths added, removed or changed since `recorded` (a digest's files)."""
        return sorted(path for path in self.files.keys() | recorded.keys()
                      if self.files.get(path) != recorded.get(path))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def digest_folder(folder: Path) -> ModelDigest:
    return ModelDigest({path.relative_to(folder).as_posix(): file_sha256(path)
                        for path in folder.rglob("*")
                        if path.is_file() and path.name not in CLIENT_WRITTEN})


def unchecked_note(name: str, version: str, tag: str) -> str:
    """What serving a version the gate never promoted (it has no digest ``tag``) means."""
    return (f"{name} version {version} has no {tag} tag (it was not promoted through the "
            "gate): its files are served unchecked")


def changed_files(folder: Path, name: str, version: str, expected: str, tag: str) -> str | None:
    """Why the files in ``folder`` are not the ones the gate promoted (the digest ``expected``,
    recorded in the version's ``tag``), in one line; None when they are."""
    found = digest_folder(folder).value
    if found == expected:
        return None
    return (f"{name} version {version}: the downloaded files ({found}) are not the ones the "
            f"gate promoted ({expected}, tag {tag}): the model was changed after promotion; "
            "serve another version and have the registry checked (mlops-policy audit verify)")


def download_version(name: str, version: str, destination: Path,
                     tracking_uri: str | None = None, registry_uri: str | None = None) -> Path:
    import mlflow
    from mlflow import MlflowClient

    # Resolved with this client: a models:/ URI is resolved against the process's default
    # registry whatever registry_uri says (MLflow 3's ModelsArtifactRepository).
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
    location = client.get_model_version_download_uri(name, version)
    return Path(mlflow.artifacts.download_artifacts(
        artifact_uri=location, dst_path=str(destination), tracking_uri=tracking_uri))


def version_digest(name: str, version: str, tracking_uri: str | None = None,
                   registry_uri: str | None = None) -> ModelDigest:
    """The digest of the version's files as the registry serves them now."""
    with tempfile.TemporaryDirectory(prefix="mlops-digest-") as folder:
        return digest_folder(download_version(name, version, Path(folder), tracking_uri,
                                              registry_uri))
