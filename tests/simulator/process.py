"""The simulator as its own process (``python -m simulator``), as a user starts it.

Tests that swap a meter behind a converter stop one process and start another on the
same port; they share this one helper so they all wait for READY and stop alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[2]
#: The simulator package is found from the repository whatever the caller's directory.
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@contextlib.asynccontextmanager
async def simulator_process(*args: str) -> AsyncIterator[str]:
    """``python -m simulator ARGS`` (protocol first); its URL while the block runs."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        *args,
        cwd=ROOT,
        env=ENV,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            while not (line := (await process.stdout.readline()).decode()).startswith("READY "):
                assert line, "the simulator exited before it was ready"
        yield line.split()[1]
    finally:
        process.terminate()
        async with asyncio.timeout(30):
            await process.wait()
