"""ASDUs of the REE profile: the header, the requests we send and the answers we read.

Each layout has an encoder and a decoder so the simulator speaks exactly what the
client reads, and tests can round-trip every layout. Decoders raise
:class:`ProtocolError` (never IndexError or struct.error) on short or odd bodies.
One module per concern; every name is available from this package.
"""

from .billing import (
    BillingObject,
    ContractedPowers,
    Energy,
    contracted_powers_request,
    current_billing_request,
    decode_billing,
    decode_billing_range,
    decode_contracted_powers,
    encode_billing,
    encode_contracted_powers,
    stored_billing_request,
)
from .clock import decode_clock, encode_clock
from .header import Asdu
from .identity import decode_identity, encode_identity
from .instant import (
    InstantValues,
    PhaseBlock,
    PowerBlock,
    decode_instant_values,
    encode_instant_values,
)
from .requests import (
    ALL_INSTANT_OBJECTS,
    RangeRequest,
    clock_request,
    decode_range_request,
    identity_request,
    instantaneous_request,
    integrated_totals_request,
    login_request,
    logout_request,
    requested_objects,
)
from .totals import (
    IntegratedTotal,
    IntegratedTotals,
    decode_integrated_totals,
    encode_integrated_totals,
)

__all__ = [
    "ALL_INSTANT_OBJECTS",
    "Asdu",
    "BillingObject",
    "ContractedPowers",
    "Energy",
    "InstantValues",
    "IntegratedTotal",
    "IntegratedTotals",
    "PhaseBlock",
    "PowerBlock",
    "RangeRequest",
    "clock_request",
    "contracted_powers_request",
    "current_billing_request",
    "decode_billing",
    "decode_billing_range",
    "decode_clock",
    "decode_contracted_powers",
    "decode_identity",
    "decode_instant_values",
    "decode_integrated_totals",
    "decode_range_request",
    "encode_billing",
    "encode_clock",
    "encode_contracted_powers",
    "encode_identity",
    "encode_instant_values",
    "encode_integrated_totals",
    "identity_request",
    "instantaneous_request",
    "integrated_totals_request",
    "login_request",
    "logout_request",
    "requested_objects",
    "stored_billing_request",
]
