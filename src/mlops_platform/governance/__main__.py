"""`python -m policies` is `mlops-policy`."""

from mlops_platform.governance.cli import main

raise SystemExit(main())
