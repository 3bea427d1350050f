"""`python -m bot`: run Relais, or one of its admin commands (see `--help`)."""

from bot.cli import main

raise SystemExit(main())
