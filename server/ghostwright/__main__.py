from ghostwright.cli import main

raise SystemExit(main())
