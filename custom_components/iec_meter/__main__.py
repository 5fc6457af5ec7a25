"""``python -m custom_components.iec_meter read ...`` (see :mod:`.cli`)."""

import sys

# Said in one line before the code that older Pythons cannot even parse is imported.
if sys.version_info < (3, 14):
    raise SystemExit(
        f"iec_meter needs Python 3.14 or newer; this is Python {sys.version.split()[0]}"
    )

from .cli import main

raise SystemExit(main())
