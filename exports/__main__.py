from exports.cli import main

raise SystemExit(main())
