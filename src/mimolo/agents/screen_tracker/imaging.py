"""What happens to a capture before it touches disk: redaction, scaling, encoding (pure)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

import msgspec
from PIL import Image, ImageDraw

from mimolo.errors import ConfigError

ImageFormat = Literal["png", "jpeg", "webp"]

MIME: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSION: dict[str, str] = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class Rect(msgspec.Struct, frozen=True):
    """A pixel rectangle: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def shifted(self, dx: int, dy: int) -> Rect:
        """The same rectangle in a frame whose origin is at (dx, dy)."""
        return Rect(self.x - dx, self.y - dy, self.w, self.h)


def parse_regions(values: Sequence[str], *, key: str = "params.redact_regions") -> list[Rect]:
    """Parse ``"x,y,w,h"`` strings; a bad one raises ConfigError naming its index."""
    out: list[Rect] = []
    for i, raw in enumerate(values):
        parts = [p.strip() for p in str(raw).split(",")]
        try:
            x, y, w, h = (int(p) for p in parts)
        except ValueError:
            raise ConfigError(
                f'must be "x,y,w,h" in whole pixels, got {raw!r}', field=f"{key}[{i}]"
            ) from None
        if x < 0 or y < 0 or w <= 0 or h <= 0:
            raise ConfigError(
                f"needs x, y >= 0 and a positive width and height, got {raw!r}",
                field=f"{key}[{i}]",
            )
        out.append(Rect(x, y, w, h))
    return out


def redact(image: Image.Image, regions: Sequence[Rect]) -> Image.Image:
    """Fill each region (clipped to the image) with black; returns the same image."""
    if not regions:
        return image
    draw = ImageDraw.Draw(image)
    for r in regions:
        left, top = max(0, r.x), max(0, r.y)
        right, bottom = min(image.width, r.x + r.w), min(image.height, r.y + r.h)
        if right > left and bottom > top:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=(0, 0, 0))
    return image


def target_size(width: int, height: int, *, scale: float, max_dimension: int) -> tuple[int, int]:
    """The saved size: ``scale`` applied, then the longest side capped at ``max_dimension``."""
    factor = scale
    longest = max(width, height) * factor
    if longest > max_dimension:
        factor *= max_dimension / longest
    return max(1, round(width * factor)), max(1, round(height * factor))


def shrink(image: Image.Image, *, scale: float, max_dimension: int) -> Image.Image:
    """Resize for storage (never enlarges)."""
    size = target_size(image.width, image.height, scale=scale, max_dimension=max_dimension)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def encode(image: Image.Image, image_format: ImageFormat, quality: int) -> bytes:
    """The file bytes in the chosen format (no metadata is written)."""
    buf = io.BytesIO()
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if image_format == "png":
        rgb.save(buf, format="PNG", optimize=False, compress_level=6)
    elif image_format == "jpeg":
        rgb.save(buf, format="JPEG", quality=quality, optimize=True)
    else:
        rgb.save(buf, format="WEBP", quality=quality, method=4)
    return buf.getvalue()


__all__ = [
    "EXTENSION",
    "MIME",
    "ImageFormat",
    "Rect",
    "encode",
    "parse_regions",
    "redact",
    "shrink",
    "target_size",
]
