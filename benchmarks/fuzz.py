"""Fuzz the IEC 102 parser and decoders: random bytes in, only documented errors out.

Every input goes through the stream parser (whole and in random chunks), the frame
decoder, the ASDU header decoder and every body decoder. The parser must never raise;
the decoders may raise only :class:`ProtocolError` (``FrameError`` is one). Anything
else is printed with the input that caused it.

Run: ``.venv/bin/python benchmarks/fuzz.py [--seconds 60] [--seed N]``
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import contextlib
from pathlib import Path
import random
import sys
import time
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.iec_meter.core.errors import ProtocolError  # noqa: E402
from custom_components.iec_meter.core.iec102.asdu import (  # noqa: E402
    Asdu,
    decode_clock,
    decode_identity,
    decode_instant_values,
    decode_integrated_totals,
    decode_range_request,
)
from custom_components.iec_meter.core.iec102.frames import (  # noqa: E402
    FixedFrame,
    SingleCharFrame,
    VariableFrame,
    decode_frame,
)
from custom_components.iec_meter.core.iec102.parser import (  # noqa: E402
    DamagedFrame,
    FrameParser,
)

TZ = ZoneInfo("Europe/Madrid")
_ITEMS = (FixedFrame, VariableFrame, SingleCharFrame, DamagedFrame)
_TZ_DECODERS = (
    decode_instant_values,
    decode_integrated_totals,
    decode_range_request,
)


def check(data: bytes, chunk: int = 7) -> None:
    """Feed ``data`` everywhere; raise AssertionError or the undocumented error."""
    whole = FrameParser().feed(data)
    parser = FrameParser()
    pieces = []
    for start in range(0, len(data), chunk):
        pieces += parser.feed(data[start : start + chunk])
    for item in whole + pieces:
        assert isinstance(item, _ITEMS), item
    assert parser.pending <= len(data)
    with contextlib.suppress(ProtocolError):
        decode_frame(data)
    try:
        asdu = Asdu.decode(data)
    except ProtocolError:
        return
    calls = [lambda: decode_identity(asdu), lambda: decode_clock(asdu, TZ)]
    calls += [lambda decoder=decoder: decoder(asdu, TZ) for decoder in _TZ_DECODERS]
    for call in calls:
        with contextlib.suppress(ProtocolError):
            call()


def _sample(rng: random.Random) -> bytes:
    """Random bytes, often shaped like a frame or an ASDU so the deep paths run."""
    size = rng.randint(0, 300)
    data = bytearray(rng.randbytes(size))
    kind = rng.random()
    if kind < 0.3 and size >= 4:
        length = rng.randint(0, 255)
        data[:4] = bytes((0x68, length, length, 0x68))
    elif kind < 0.5 and size >= 2:
        data[0] = rng.choice((8, 11, 71, 72, 122, 123, 163))
        data[1] = rng.randint(0, 10)
    elif kind < 0.6:
        data = (
            bytearray(rng.choice((b"\xe5", b"\xff", b"\x10", b"\x68")) * rng.randint(1, 9)) + data
        )
    return bytes(data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    end = time.monotonic() + args.seconds
    inputs = failures = 0
    while time.monotonic() < end:
        data = _sample(rng)
        inputs += 1
        try:
            check(data, rng.randint(1, 32))
        except Exception as err:  # noqa: BLE001 - the point is to catch anything
            failures += 1
            print(f"FAIL {type(err).__name__}: {err} on {data.hex(' ')}")
    print(f"seed {seed}: {inputs} inputs, {failures} undocumented errors")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
