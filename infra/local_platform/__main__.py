from infra.local_platform.cli import main

raise SystemExit(main())
