"""Serve the champion locally with the platform's model server (`mlops-serve`).

Thin on purpose: the server, and the log of served inputs that `make drift` reads,
come from the pinned platform package. Options go on to `mlops-serve` (`make serve`
passes `--port $(PORT)`); it prints the URL and an example request when it is up.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mlops_platform.api import contract as ml_contract
{%- if cookiecutter.feature_store == 'feast' %}
from mlops_platform.api import feature_store, serve_cli
{%- else %}
from mlops_platform.api import serve_cli
{%- endif %}

from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.platform import connect
from {{ cookiecutter.package_name }}.steps import run_step

MONITORING_DIR = "monitoring"


def serve(options: Sequence[str] = ()) -> None:
    connect()  # MLFLOW_TRACKING_URI for the server; stops here when the platform is down
    name = load_params().model.name
    arguments = ["--model-uri", f"models:/{name}@{ml_contract.ALIAS_CHAMPION}",
                 "--log-dir", MONITORING_DIR, *options]
{%- if cookiecutter.feature_store == 'feast' %}
    # Feast's feature server over the online store: a request may send only the row's key.
    with feature_store.feature_server() as url:
        code = serve_cli([*arguments, "--feature-server", url,
                          "--feature-service", feature_store.FEATURE_SERVICE,
                          "--entity-key", feature_store.ENTITY_KEY])
{%- else %}
    code = serve_cli(arguments)
{%- endif %}
    if code:
        raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    options = sys.argv[1:] if argv is None else list(argv)
    return run_step("serve", lambda: serve(options))


if __name__ == "__main__":
    raise SystemExit(main())
