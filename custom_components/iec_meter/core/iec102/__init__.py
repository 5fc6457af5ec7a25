"""IEC 60870-5-102 as profiled by REE (Spanish utility meters)."""
