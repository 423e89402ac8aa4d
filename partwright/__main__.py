"""`python -m partwright`: the same as the `partwright` program."""

from partwright.start import main

raise SystemExit(main())
