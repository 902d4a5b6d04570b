from gatewayz.cli import main

raise SystemExit(main())
