"""QR codes as inline SVG, generated in-process with segno (no image service, no network)."""

from __future__ import annotations

from functools import lru_cache

import segno


@lru_cache(maxsize=2048)
def qr_svg(data: str, *, title: str = "", scale: int = 4) -> str:
    """An inline <svg> (no XML declaration, sized by CSS through its viewBox) encoding `data`.

    segno escapes the title; it becomes the accessible name of the image. Cached because a
    sign-in sheet of a large class draws hundreds of codes that rarely change.
    """
    code = segno.make(data, error="m")
    svg = code.svg_inline(scale=scale, title=title or None, omitsize=True, svgclass="qr", lineclass="qr-line")
    return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)
