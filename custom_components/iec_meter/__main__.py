"""``python -m custom_components.iec_meter read ...`` (see :mod:`.cli`)."""

from .cli import main

raise SystemExit(main())
