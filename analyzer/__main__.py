"""``python -m analyzer`` is ``nma``."""

from .cli import main

raise SystemExit(main())
