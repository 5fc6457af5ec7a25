"""Messages of the data readout: sign-on, identification, option select, blocks, BCC."""

from __future__ import annotations

import pytest

from custom_components.iec_meter.core.errors import FrameError
from custom_components.iec_meter.core.iec62056.constants import Mode
from custom_components.iec_meter.core.iec62056.messages import (
    Identification,
    add_even_parity,
    bcc,
    check_address,
    check_parity,
    check_readout_end,
    data_message,
    decode_block,
    frame_end,
    option_select,
    parity_errors,
    parse_identification,
    parse_option_select,
    parse_sign_on,
    sign_on_request,
    strip_parity,
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (bytes.fromhex("01 42 30 03"), 0x71),
        (b"\x01P1\x02(00000000)\x03", 0x61),
        (b"\x01P0\x02(00000000)\x03", 0x60),
        (b"\x01R1\x0200000034()\x03", 0x64),
        (b"\x01R1\x021.8.0()\x03", 0x5A),
        (b"\x01P0\x02(1234567)\x03", 0x50),
        (b"\x021.8.0(0001234.5*kWh)\r\n2.8.0(0000012.3*kWh)\r\n!\r\n\x03", 0x27),
    ],
)
def test_bcc_vectors(message: bytes, expected: int) -> None:
    # The BCC covers everything after the first SOH/STX.
    assert bcc(message[1:]) == expected


def test_sign_on() -> None:
    assert sign_on_request() == b"/?!\r\n"
    assert sign_on_request("12345678") == b"/?12345678!\r\n"
    assert parse_sign_on(b"/?12345678!\r\n") == "12345678"
    assert parse_sign_on(b"/?!\r\n") == ""
    assert parse_sign_on(b"/X!\r\n") is None
    assert parse_sign_on(b"/?a b!\r\n") is None


@pytest.mark.parametrize("bad", ["a" * 33, "a!b", "a/b", "a?", "é", "a b", "\t"])
def test_bad_addresses(bad: str) -> None:
    with pytest.raises(ValueError, match="device address"):
        check_address(bad)


def test_identification_without_enhanced_keeps_the_first_character() -> None:
    ident = parse_identification(b"/LGZ5ZMD3104107.B32\r\n")
    assert ident == Identification("LGZ", "5", "ZMD3104107.B32")
    assert ident.baudrate(Mode.C) == 9600
    assert ident.baudrate(Mode.B) is None
    assert ident.baudrate(Mode.A) is None
    assert not ident.short_reaction
    assert ident.reaction_time == pytest.approx(0.2)


def test_identification_with_enhanced_capability() -> None:
    ident = parse_identification(b"/APA5\\2NORAX30\r\n")
    assert ident.enhanced == "2"
    assert ident.ident == "NORAX30"
    assert ident.encode() == b"/APA5\\2NORAX30\r\n"


def test_lowercase_third_letter_means_short_reaction() -> None:
    ident = parse_identification(b"/ISk5MT174-0001\r\n")
    assert ident.short_reaction
    assert ident.reaction_time == pytest.approx(0.02)
    assert parse_identification(b"/ABCE\r\n").baudrate(Mode.B) == 9600


@pytest.mark.parametrize(
    "raw", [b"/AB\r\n", b"X ABC5x\r\n", b"/A1C5x\r\n", b"/ABC5\x01\r\n", b"/ABC5\xff\r\n"]
)
def test_bad_identifications(raw: bytes) -> None:
    with pytest.raises(FrameError):
        parse_identification(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"/ABC5SIM", "CR LF"),
        (b"/ABC5SIM\x8d\n", "CR LF"),  # the CR hit in bit 7
        (b"/ABC5SIM\n", "CR LF"),
        (b"/A\xc2C5SIM\r\n", "ASCII"),
        (b"/ABC7SIM\r\n", "not valid"),  # reserved
        (b"/ABC5SI!M\r\n", "cannot hold"),
        (b"/ABC5S/M\r\n", "cannot hold"),
        (b"/ABC5\\\r\n", "capability"),
        (b"/ABC\x015SIM\r\n", "baud character"),
    ],
)
def test_identifications_are_checked_strictly(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        parse_identification(raw)


@pytest.mark.parametrize(
    ("raw", "mode", "valid"),
    [
        (b"/ABC5SIM\r\n", Mode.C, True),
        (b"/ABC6SIM\r\n", Mode.C, True),
        (b"/ABC7SIM\r\n", Mode.C, False),  # 7-9 are reserved
        (b"/ABCESIM\r\n", Mode.C, False),  # a mode B meter
        (b"/ABCESIM\r\n", Mode.B, True),
        (b"/ABCGSIM\r\n", Mode.B, False),  # G-I are reserved
        (b"/ABC0SIM\r\n", Mode.B, True),  # a digit: no mode B speed, no switch
        (b"/ABCuSIM\r\n", Mode.B, False),
        (b"/ABCuSIM\r\n", Mode.A, True),  # mode A never switches: Z is free
        (b"/ABC!SIM\r\n", Mode.A, False),
        (b"/ABCuSIM\r\n", Mode.D, True),
    ],
)
def test_baud_character_must_fit_the_mode(raw: bytes, mode: Mode, valid: bool) -> None:
    if valid:
        assert parse_identification(raw, mode).ident == "SIM"
    else:
        with pytest.raises(FrameError, match=r"baud|mode B"):
            parse_identification(raw, mode)


def test_a_mode_b_meter_read_in_mode_c_is_told_to_use_mode_b() -> None:
    with pytest.raises(FrameError, match=r"set mode B"):
        parse_identification(b"/LGZE ZMD\r\n", Mode.C)


def test_idents_as_real_meters_send_them() -> None:
    assert parse_identification(b"/Ene5\\T211 ESMR 5.0\r\n", Mode.C).ident == "211 ESMR 5.0"
    assert parse_identification(b"/XMX5LGBBFG1012345678\r\n", Mode.C).ident == "LGBBFG1012345678"
    assert parse_identification(b"/ISk5\\2MT382-1000\r\n", Mode.C).enhanced == "2"


def test_option_select() -> None:
    assert option_select(9600) == bytes.fromhex("06 30 35 30 0D 0A")
    option = parse_option_select(option_select(300))
    assert (option.protocol, option.baud_char, option.mode_control) == ("0", "0", "0")
    assert option.baudrate == 300
    with pytest.raises(ValueError, match="no mode C character"):
        option_select(38400)
    with pytest.raises(FrameError):
        parse_option_select(b"\x06050\r")


def test_data_message_round_trip() -> None:
    raw = data_message(["1.8.0(0001234.5*kWh)", "2.8.0(0000012.3*kWh)"])
    assert raw[-1] == 0x27
    assert frame_end(raw) == len(raw)
    assert frame_end(raw[:-1]) is None
    block = decode_block(raw)
    assert block.final
    assert block.text.endswith("!\r\n")
    partial = decode_block(data_message(["1.8.0(1)"], final=False))
    assert not partial.final
    assert partial.text == "1.8.0(1)\r\n"


@pytest.mark.parametrize("raw", [b"", b"\x02\x03", b"x1.8.0(1)\x03a", b"\x021.8.0(1)\x03\x00"])
def test_damaged_blocks(raw: bytes) -> None:
    with pytest.raises(FrameError):
        decode_block(raw)


def _framed(body: bytes) -> bytes:
    payload = body + b"\x03"
    return b"\x02" + payload + bytes((bcc(payload),))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # Bit 7 is outside the 7-bit BCC: this block's BCC is right.
        (_framed(b"2.7.0(0.5*\xd7)\r\n!\r\n"), "byte D7 at 11"),
        (_framed(b"1.8.0(1\x002)\r\n!\r\n"), "byte 00"),
        (_framed(b"1.8.0(1)\x02\r\n!\r\n"), "byte 02"),
        (_framed(b"1.8.0(1)\r\n!\r\n")[:-1] + b"\xa2", "not a 7-bit"),
    ],
)
def test_blocks_are_decoded_strictly(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        decode_block(raw)


def test_a_readout_ends_with_its_end_line() -> None:
    check_readout_end("1.8.0(1)\r\n!\r\n")
    with pytest.raises(FrameError, match="'!' line"):
        check_readout_end("1.8.0(1)\r\n")
    with pytest.raises(FrameError):
        check_readout_end("1.8.0(1)\r\n!")


def test_parity_in_bit_seven() -> None:
    assert add_even_parity(b"/?!\r\n") == bytes.fromhex("AF 3F 21 8D 0A")
    assert strip_parity(bytes.fromhex("AF 3F 21 8D 0A")) == b"/?!\r\n"


def test_parity_is_checked_not_just_cleared() -> None:
    sent = add_even_parity(b"/?!\r\n")
    assert check_parity(sent) == b"/?!\r\n"
    assert parity_errors(check_parity(sent)) == 0
    for bit in range(8):  # every single hit shows, the parity bit's own included
        hit = bytes((sent[0] ^ (1 << bit),)) + sent[1:]
        checked = check_parity(hit)
        assert parity_errors(checked) == 1
        assert checked[0] & 0x80
        assert checked[1:] == b"?!\r\n"
