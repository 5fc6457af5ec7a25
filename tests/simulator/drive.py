"""Drive a simulated IEC 102 meter frame by frame, without a socket.

Fast enough to compare every byte of long answers, and it sees exactly what the meter
queues: the tests of determinism and of the meter's refusals use it.
"""

from __future__ import annotations

from custom_components.iec_meter.core.iec102.asdu import Asdu, login_request
from custom_components.iec_meter.core.iec102.constants import (
    PrimaryControlBit,
    PrimaryFunction,
    SecondaryFunction,
)
from custom_components.iec_meter.core.iec102.frames import FixedFrame, VariableFrame, decode_frame
from simulator.iec102_meter import SimulatedMeter

#: More answers than any test asks for: a meter that keeps answering is a bug.
MAX_POLLS = 10_000


class Driver:
    """The primary station's side of one link, toggling the FCB as a client does."""

    def __init__(self, meter: SimulatedMeter) -> None:
        self.meter = meter
        self.fcb = False

    def _control(self, function: PrimaryFunction) -> int:
        self.fcb = not self.fcb
        bits = PrimaryControlBit.PRM | PrimaryControlBit.FCV
        return bits | (PrimaryControlBit.FCB if self.fcb else 0) | function

    def start(self, password: int = 1) -> None:
        """Reset the link and log in."""
        address = self.meter.config.link_address
        self.meter.handle(
            FixedFrame(PrimaryControlBit.PRM | PrimaryFunction.RESET_REMOTE_LINK, address)
        )
        self.fcb = False
        self.exchange(login_request(self.meter.config.point_address, password))

    def send(self, request: Asdu) -> None:
        """Send a request as user data (the meter acknowledges it)."""
        control = self._control(PrimaryFunction.USER_DATA)
        frame = VariableFrame(control, self.meter.config.link_address, request.encode())
        answer = self.meter.handle(frame)
        assert answer is not None
        assert decode_frame(answer).function == SecondaryFunction.ACK  # type: ignore[union-attr]

    def poll(self) -> bytes | None:
        """One class 2 poll: the answer's bytes, or None for "no data"."""
        control = self._control(PrimaryFunction.REQUEST_CLASS_2)
        answer = self.meter.handle(FixedFrame(control, self.meter.config.link_address))
        assert answer is not None
        frame = decode_frame(answer)
        return answer if isinstance(frame, VariableFrame) else None

    def exchange_bytes(self, request: Asdu) -> list[bytes]:
        """Send ``request`` and poll until "no data": every answer frame, as sent."""
        self.send(request)
        answers = []
        for _ in range(MAX_POLLS):
            answer = self.poll()
            if answer is None:
                return answers
            answers.append(answer)
        raise AssertionError("the meter never ran out of answers")

    def exchange(self, request: Asdu) -> list[Asdu]:
        """Send ``request`` and poll until "no data": every answer ASDU."""
        frames = [decode_frame(raw) for raw in self.exchange_bytes(request)]
        return [Asdu.decode(frame.asdu) for frame in frames if isinstance(frame, VariableFrame)]
