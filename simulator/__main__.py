"""Entry point: ``python -m simulator iec102 ...``."""

from .cli import main

raise SystemExit(main())
