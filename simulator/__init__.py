"""Meter simulators: IEC 102 (REE) and IEC 62056-21, over TCP or a pseudo-terminal, with faults.

They are how a newcomer runs the project without hardware and what the tests talk to.
"""
