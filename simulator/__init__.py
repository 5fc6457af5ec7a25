"""Meter simulator: speaks IEC 102 (REE) over TCP or a pseudo-terminal, with faults.

It is how a newcomer runs the project without hardware and what the tests talk to.
"""
