"""QR codes drawn as inline SVG (segno), for the pages where a person scans a secret into an
authenticator app: no image request, and nothing the content security policy forbids."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str, title: str = "QR code to scan with your authenticator app") -> Markup:
    """The QR code of `text` as an <svg> element to put in a page."""
    code = segno.make(text, error="m")
    return Markup(
        code.svg_inline(scale=5, dark="#000", light="#fff", title=title, svgclass="qr-code")
    )
