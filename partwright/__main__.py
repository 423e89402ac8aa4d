from partwright.cli import main

raise SystemExit(main())
