"""Protocol core: meter drivers with no Home Assistant imports.

It needs only ``serialx`` and the standard library, uses no globals or threads, and
bounds every wait with ``asyncio.timeout``. :mod:`.drivers` lists the protocols,
:mod:`.driver` is the interface they implement, :mod:`.model` what they deliver and
:mod:`.bus` the line their meters share.
"""
