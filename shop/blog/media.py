"""Hero images uploaded in the article editor: checked by their content, kept by their hash.

The contract:
- An upload is an image only if Pillow recognises it as JPEG, PNG, WebP or GIF *and* decodes it
  whole. The file name and the content type the browser sent are never asked: a text file named
  photo.jpg, or a PNG sent as image/jpeg, is judged by its bytes alone.
- It is at most HERO_IMAGE_MAX_BYTES, and at most HERO_IMAGE_MAX_SIDE pixels on either side,
  checked from the header before any pixel is decoded (a few kilobytes can decode to gigabytes).
- A stored image is named by the SHA-256 of its bytes plus the extension of its real format, in
  MEDIA_DIR (instance/media unless configured): the same image uploaded twice is one file, and a
  name always means the same bytes, so `/media/<name>` may be cached for a year.
- An article refers to an uploaded image as "media:<name>" in `hero_image_path`; any other value
  is a file under static/ (how imported and demo articles name theirs), and keeps working.
- Files are never deleted by the shop: another article (or a cached page) may still use one.
- The page gives a hero image's real width and height (`hero_image_size`), read from the file's
  header when first shown and remembered per file (an upload's name never changes meaning; a
  static file is remembered with its modification time). Nothing is stored with the article, so
  imported articles' static images get their real size too; a file that is missing or not an
  image gets no size (the browser then sizes it itself) rather than a wrong one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app, url_for
from PIL import Image, UnidentifiedImageError

from shop.urls import absolute_url

MEDIA_PREFIX = "media:"
# Pillow's format name → (the extension it is stored under, the content type it is served as).
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
CONTENT_TYPES = {extension: content_type for extension, content_type in FORMATS.values()}
NAME = re.compile(r"[0-9a-f]{64}\.(jpg|png|webp|gif)")
ACCEPTED = "JPEG, PNG, WebP or GIF"


class ImageRefused(ValueError):
    """The upload is not an image the shop will keep; the message says why, for the admin."""


@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed every check, with what was learnt about it."""

    data: bytes
    extension: str
    content_type: str
    width: int
    height: int

    @property
    def name(self) -> str:
        return f"{hashlib.sha256(self.data).hexdigest()}.{self.extension}"


def check_image(data: bytes, max_bytes: int, max_side: int) -> CheckedImage:
    """The upload as a CheckedImage, or ImageRefused saying what is wrong with it."""
    if not data:
        raise ImageRefused("That file is empty. Choose a JPEG, PNG, WebP or GIF image.")
    if len(data) > max_bytes:
        raise ImageRefused(
            f"That image is {readable_size(len(data))}; the most we take is {readable_size(max_bytes)}. "
            "Save it smaller (1600 pixels wide is plenty) and choose it again."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, on very large images; the side limit below decides.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                width, height = image.size
                if width > max_side or height > max_side:
                    raise ImageRefused(
                        f"That image is {width} by {height} pixels; the most we take is "
                        f"{max_side} pixels on a side. Resize it and choose it again."
                    )
                found = image.format or ""
                image.load()  # decode every pixel: a truncated or corrupt file fails here
    except ImageRefused:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise ImageRefused(
            f"That file isn't a {ACCEPTED} image we can read (whatever its name says). "
            "Choose an image file."
        ) from error
    if found not in FORMATS or width < 1 or height < 1:
        raise ImageRefused(f"That file isn't a {ACCEPTED} image. Choose an image file.")
    extension, content_type = FORMATS[found]
    return CheckedImage(data, extension, content_type, width, height)


def media_dir() -> Path:
    return Path(current_app.config["MEDIA_DIR"])


def store_image(image: CheckedImage) -> str:
    """Write the image into MEDIA_DIR (once: same bytes, same name) and return its
    `hero_image_path` value ("media:<name>"). Raises OSError when the folder cannot be written."""
    folder = media_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / image.name
    if not target.exists():
        # Written aside then renamed, so a reader never gets half a file.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(image.data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return MEDIA_PREFIX + image.name


def stored_file(name: str) -> tuple[Path, str] | None:
    """The file and content type of a stored image named `name`, or None for any other name
    (a name is checked against the hash pattern first: no path ever reaches the disk)."""
    if not NAME.fullmatch(name):
        return None
    path = media_dir() / name
    if not path.is_file():
        return None
    return path, CONTENT_TYPES[name.rsplit(".", 1)[1]]


def is_uploaded(hero_image_path: str | None) -> bool:
    return bool(hero_image_path and hero_image_path.startswith(MEDIA_PREFIX))


def hero_image_url(hero_image_path: str | None, *, absolute: bool = False) -> str | None:
    """Where a browser finds an article's hero image: /media/<name> for an upload, else the
    static file the path names (`absolute`: from SITE_URL, for feeds and social cards)."""
    if not hero_image_path:
        return None
    if hero_image_path.startswith("data:image/"):  # the editor's preview of an unsaved upload
        return hero_image_path
    build = absolute_url if absolute else url_for
    if is_uploaded(hero_image_path):
        return build("blog.media", name=hero_image_path.removeprefix(MEDIA_PREFIX))
    return build("static", filename=hero_image_path)


def hero_image_size(hero_image_path: str | None) -> tuple[int, int] | None:
    """The real width and height in pixels of the image `hero_image_path` names (an upload,
    a static file, or the editor preview's data: URL), or None when it cannot be read."""
    if not hero_image_path:
        return None
    if hero_image_path.startswith("data:image/"):
        try:
            data = base64.b64decode(hero_image_path.partition(",")[2], validate=True)
        except (binascii.Error, ValueError):
            return None
        return _size_of(io.BytesIO(data))
    if is_uploaded(hero_image_path):
        found = stored_file(hero_image_path.removeprefix(MEDIA_PREFIX))
        path = found[0] if found else None
    else:
        static = Path(current_app.static_folder or "static").resolve()
        path = (static / hero_image_path).resolve()
        if not path.is_relative_to(static):
            return None
    try:
        stamp = path.stat().st_mtime_ns if path else None
    except OSError:
        return None
    return _file_size(str(path), stamp) if stamp is not None else None


@lru_cache(maxsize=2048)
def _file_size(path: str, modified_ns: int) -> tuple[int, int] | None:
    """Remembered per path and modification time: a page view reads no file twice."""
    return _size_of(path)


def _size_of(source: str | io.BytesIO) -> tuple[int, int] | None:
    """Width and height from the image header only (no pixel is decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source, formats=list(FORMATS)) as image:
                width, height = image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def readable_size(size: int) -> str:
    """1.5 MB; under a megabyte, 20 KB."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"
