from adapters.runtime.cli import main

raise SystemExit(main())
