"""`python -m policies` is `mlops-policy`."""

from policies.cli import main

raise SystemExit(main())
