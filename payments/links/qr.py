"""QR codes of the addresses people share: a profile, a tip jar, a payment link.

``segno`` writes them (pure Python, no image library needed for SVG or PNG). Error
correction level M survives a smudged print or a logo sticker over a corner; the quiet
zone is the standard four modules, so phone cameras find the code on busy backgrounds.
The code holds only the public address — nothing a visitor could not see anyway."""

from __future__ import annotations

import io

import segno

#: The longest address we encode (a limit on everything; ours are far shorter).
MAX_DATA_LENGTH = 512
SVG_SCALE = 4
PNG_SCALE = 10  # 10 px per module: about 370 px square, sharp enough to print at 3 cm


def _code(data: str):
    if not 1 <= len(data) <= MAX_DATA_LENGTH:
        raise ValueError("QR data length out of range")
    return segno.make_qr(data, error="m")


def qr_svg(data: str, *, title: str = "") -> bytes:
    """A standalone SVG (dark modules on white, scalable for print)."""
    out = io.BytesIO()
    _code(data).save(
        out, kind="svg", scale=SVG_SCALE, border=4, xmldecl=False, svgns=True, title=title or None
    )
    return out.getvalue()


def qr_png(data: str) -> bytes:
    out = io.BytesIO()
    _code(data).save(out, kind="png", scale=PNG_SCALE, border=4)
    return out.getvalue()
