"""Serve the champion locally with the platform's model server (`mlops-serve`).

Thin on purpose: the server, and the log of served inputs that `make drift` reads,
come from the pinned platform package.
"""

from __future__ import annotations

from mlops_platform import contract as ml_contract
from mlops_platform.serving import main as serve_cli

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect
from {{ cookiecutter.package_name }}.steps import run_step

MONITORING_DIR = "monitoring"


def serve() -> None:
    connect()  # MLFLOW_TRACKING_URI for the server; stops here when the platform is down
    name = load_params().model.name
    code = serve_cli(["--model-uri", f"models:/{name}@{ml_contract.ALIAS_CHAMPION}",
                      "--log-dir", MONITORING_DIR])
    if code:
        raise SystemExit(code)


def main() -> int:
    return run_step("serve", serve)


if __name__ == "__main__":
    raise SystemExit(main())
