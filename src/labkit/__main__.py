from labkit.command import main

raise SystemExit(main())
