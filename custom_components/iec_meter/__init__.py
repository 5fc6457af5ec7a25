"""IEC Meter: read electricity meters locally over IEC 60870-5-102 (REE) and IEC 62056-21.

The protocol core lives in :mod:`custom_components.iec_meter.protocol` and has no
Home Assistant imports; the Home Assistant side is built on top of it.
"""
