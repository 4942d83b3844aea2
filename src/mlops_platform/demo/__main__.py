"""`make demo`: python -m mlops_platform.demo."""

from mlops_platform.demo.run import main

raise SystemExit(main())
