"""IEC 62056-21 tests."""
