"""Image files for upload tests, made by Pillow in memory: real ones, noisy (incompressible)
ones of a chosen size, and ones that only pretend."""

from __future__ import annotations

import io
import random

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 32), colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def png_bytes(size: tuple[int, int] = (64, 32)) -> bytes:
    return image_bytes("PNG", size)


def noisy_png(side: int, seed: int = 7) -> bytes:
    """A PNG of random pixels: it does not compress, so its size grows with `side` squared."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def truncated_png() -> bytes:
    """A PNG whose header is fine but whose pixels are cut off half way."""
    whole = noisy_png(64)
    return whole[: len(whole) // 2]
