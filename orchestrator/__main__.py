"""`python -m orchestrator` is the `lmc` command."""

from orchestrator.cli import main

raise SystemExit(main())
