from mlops_platform.local_platform.cli import main

raise SystemExit(main())
