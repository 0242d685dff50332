"""Hero image uploads through the editor: judged by their bytes, kept by their hash under
MEDIA_DIR, served with a year's cache; anything else is an error at the field and nothing is
stored (no file, no row)."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.blog.models import Article
from shop.extensions import db
from tests.admin.test_articles import article_form, field_error, post_article
from tests.builders.content import make_article, make_author
from tests.builders.images import image_bytes, noisy_png, png_bytes, truncated_png
from tests.helpers import text_of

SMALL_LIMIT = 20_000


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, object]:
    return {"MEDIA_DIR": str(tmp_path / "media"), "HERO_IMAGE_MAX_SIDE": 2000}


@pytest.fixture
def author(app):  # type: ignore[no-untyped-def]
    return make_author("Rachel Lifts")


def media_files(app) -> list[Path]:  # type: ignore[no-untyped-def]
    folder = Path(app.config["MEDIA_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def upload(
    client,
    author,
    data: bytes,
    filename: str,
    content_type: str | None = None,
    path: str = "/admin/articles/new",
    **fields: Any,
):  # type: ignore[no-untyped-def]
    form = article_form(client, path, author_id=str(author.id), status="published", **fields)
    form.setdefault("hero_image_alt", "")
    file = (
        (io.BytesIO(data), filename, content_type) if content_type else (io.BytesIO(data), filename)
    )
    form["hero_image"] = file
    return client.post(path, data=form)


def articles() -> int:
    return db.session.scalar(select(func.count(Article.id))) or 0


@pytest.mark.parametrize(
    ("fmt", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif")]
)
def test_an_image_is_stored_by_its_hash_and_served_for_a_year(
    admin_client, author, app, client, fmt, extension
):
    data = image_bytes(fmt)
    response = upload(
        admin_client, author, data, f"photo.{extension}", hero_image_alt="A red plate"
    )
    assert response.status_code == 303
    name = f"{hashlib.sha256(data).hexdigest()}.{extension}"
    assert [path.name for path in media_files(app)] == [name]
    article = db.session.scalar(select(Article))
    assert article.hero_image_path == f"media:{name}" and article.hero_image_alt == "A red plate"

    page = client.get(f"/blog/{article.slug}").get_data(as_text=True)
    assert f'<img src="/media/{name}" alt="A red plate"' in page
    assert f'content="http://shop.test/media/{name}"' in page  # og:image, from SITE_URL
    served = client.get(f"/media/{name}", buffered=True)  # a file, streamed
    assert served.status_code == 200 and served.data == data
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["Content-Type"] == f"image/{'jpeg' if fmt == 'JPEG' else extension}"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_the_content_decides_not_the_name_or_the_declared_type(admin_client, author, app):
    data = png_bytes()
    response = upload(admin_client, author, data, "holiday.jpg", "image/jpeg", hero_image_alt="Red")
    assert response.status_code == 303
    assert [path.suffix for path in media_files(app)] == [".png"]


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "message"),
    [
        (
            b"<html><script>alert(1)</script></html>" * 10,
            "photo.jpg",
            "image/jpeg",
            "isn't a JPEG, PNG, WebP or GIF image",
        ),
        (b"just some text", "notes.png", "image/png", "isn't a JPEG, PNG, WebP or GIF image"),
        (truncated_png(), "cut.png", "image/png", "isn't a JPEG, PNG, WebP or GIF image"),
        (image_bytes("BMP"), "old.bmp", "image/bmp", "isn't a JPEG, PNG, WebP or GIF image"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "image/svg+xml",
            "isn't a JPEG, PNG, WebP or GIF image",
        ),
        (b"", "empty.png", "image/png", "empty"),
        (
            png_bytes((2001, 10)),
            "wide.png",
            "image/png",
            "2001 by 10 pixels; the most we take is 2000",
        ),
    ],
)
def test_what_is_not_an_acceptable_image_is_refused_at_the_field(
    admin_client, author, app, data, filename, content_type, message
):
    response = upload(admin_client, author, data, filename, content_type, hero_image_alt="Alt")
    assert response.status_code == 400
    assert message in field_error(response, "hero_image")
    assert "Choose the image again" in text_of(response)
    assert articles() == 0 and media_files(app) == []


@pytest.mark.parametrize("app_settings", [{"HERO_IMAGE_MAX_BYTES": SMALL_LIMIT}])
def test_an_oversized_image_is_refused_at_the_field(admin_client, author, app, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    data = noisy_png(100)  # about 30 KB of random pixels
    assert SMALL_LIMIT < len(data) < 4 * SMALL_LIMIT
    response = upload(admin_client, author, data, "big.png", "image/png", hero_image_alt="Noise")
    assert response.status_code == 400
    message = field_error(response, "hero_image")
    assert "the most we take is 20 KB" in message and "choose it again" in message
    assert articles() == 0 and media_files(app) == []


@pytest.mark.parametrize("app_settings", [{"HERO_IMAGE_MAX_BYTES": SMALL_LIMIT}])
def test_an_upload_far_over_the_limit_is_413_saying_what_to_do(admin_client, author, app, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    data = noisy_png(700)  # about 1.5 MB: past 4 times the limit + 1 MB of form
    response = upload(admin_client, author, data, "huge.png", "image/png", hero_image_alt="Noise")
    assert response.status_code == 413
    page = text_of(response)
    # Only the upload's own advice: not the general 413 line about the 1 MB form limit.
    assert "A hero image can be at most 20 KB: save it smaller" in page
    assert "under 1 MB" not in page and "Please make it shorter" not in page
    assert articles() == 0 and media_files(app) == []


def test_an_upload_far_over_the_limit_answers_json_clients_with_the_advice(
    admin_client, author, app, tmp_path
):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    app.config["HERO_IMAGE_MAX_BYTES"] = SMALL_LIMIT
    form = article_form(admin_client, author_id=str(author.id), hero_image_alt="Noise")
    form["hero_image"] = (io.BytesIO(noisy_png(700)), "huge.png")
    response = admin_client.post(
        "/admin/articles/new", data=form, headers={"Accept": "application/json"}
    )
    assert response.status_code == 413
    assert "A hero image can be at most 20 KB" in response.get_json()["error"]["message"]


def test_an_image_needs_alt_text(admin_client, author, app):
    response = upload(
        admin_client, author, png_bytes(), "hero.png", "image/png", hero_image_alt="  "
    )
    assert response.status_code == 400
    assert "alt text is required" in field_error(response, "hero_image_alt")
    assert articles() == 0 and media_files(app) == []


def test_files_go_only_in_the_image_field(admin_client, author, app):
    form = article_form(admin_client, author_id=str(author.id))
    form["title"] = (io.BytesIO(png_bytes()), "title.png")
    response = admin_client.post("/admin/articles/new", data=form)
    assert response.status_code == 400
    assert articles() == 0 and media_files(app) == []


def test_a_static_hero_image_keeps_working_and_can_be_replaced_or_removed(
    admin_client, author, app, client
):
    article = make_article("with-static", author=author)
    article.hero_image_path = "img/boxes/musclebox.jpg"
    article.hero_image_alt = "The box"
    db.session.commit()
    path = f"/admin/articles/{article.id}/edit"
    assert 'src="/static/img/boxes/musclebox.jpg"' in client.get("/blog/with-static").get_data(
        as_text=True
    )

    # Saved without a new upload: the static image stays (alt text still required).
    def save(**fields: Any):  # type: ignore[no-untyped-def]
        return post_article(
            admin_client, author, path, slug="with-static", status="published", **fields
        )

    response = save(hero_image_alt="")
    assert response.status_code == 400 and "alt text is required" in field_error(
        response, "hero_image_alt"
    )
    assert save(hero_image_alt="The box, opened").status_code == 303
    db.session.refresh(article)
    assert (article.hero_image_path, article.hero_image_alt) == (
        "img/boxes/musclebox.jpg",
        "The box, opened",
    )

    response = upload(
        admin_client,
        author,
        png_bytes(),
        "new.png",
        path=path,
        slug="with-static",
        hero_image_alt="New",
    )
    assert response.status_code == 303
    db.session.refresh(article)
    assert article.hero_image_path.startswith("media:")

    assert save(remove_hero_image="y").status_code == 303
    db.session.refresh(article)
    assert (article.hero_image_path, article.hero_image_alt) == (None, "")
    assert "hero-image" not in client.get("/blog/with-static").get_data(as_text=True)


def test_the_same_image_twice_is_one_file(admin_client, author, app):
    data = png_bytes()
    upload(admin_client, author, data, "a.png", title="First", hero_image_alt="Red")
    upload(admin_client, author, data, "b.png", title="Second", hero_image_alt="Red")
    assert articles() == 2 and len(media_files(app)) == 1


@pytest.mark.parametrize(
    "name",
    [
        "../secret_key",
        "..%2f..%2fshop%2fconfig.py",
        "%2e%2e%2fsecret_key",
        "0" * 64 + ".html",
        "0" * 64 + ".png",  # the right shape, but no such file
        "ABC.png",
    ],
)
def test_media_serves_stored_images_only(client, app, name):
    Path(app.config["MEDIA_DIR"]).mkdir(parents=True)
    (Path(app.config["MEDIA_DIR"]) / ("0" * 64 + ".html")).write_text("<script>alert(1)</script>")
    response = client.get(f"/media/{name}")
    assert response.status_code == 404
    assert b"alert(1)" not in response.data


# -- the hero image's real size on the page ----------------------------------------------------


def hero_img(page: str) -> str:
    found = re.search(r'<figure class="hero-image wrap"><img [^>]*>', page)
    assert found, "no hero image on the page"
    return found.group(0)


def test_an_uploaded_hero_is_given_its_real_size_on_the_page_and_in_the_preview(
    admin_client, author, app, client
):
    data = png_bytes((800, 400))
    response = upload(admin_client, author, data, "wide.png", hero_image_alt="A red band")
    assert response.status_code == 303
    article = db.session.scalar(select(Article))
    img = hero_img(client.get(f"/blog/{article.slug}").get_data(as_text=True))
    assert 'width="800" height="400"' in img and "1200" not in img

    form = article_form(
        admin_client,
        "/admin/articles/new",
        author_id=str(author.id),
        status="published",
        hero_image_alt="A square",
    )
    form["hero_image"] = (io.BytesIO(png_bytes((300, 500))), "tall.png")
    preview = admin_client.post("/admin/articles/new/preview", data=form)
    assert preview.status_code == 200
    assert 'width="300" height="500"' in hero_img(preview.get_data(as_text=True))


# Without the page cache: a file replaced in place while the shop runs is seen by the next page
# only when pages are rendered each time (a deploy, which restarts the shop, starts the cache anew).
@pytest.mark.parametrize("app_settings", [{"PAGE_CACHE_URL": ""}])
def test_a_static_hero_is_given_the_size_of_the_file_as_it_is_now(app, client, tmp_path):
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (tmp_path / "outside.png").write_bytes(png_bytes((50, 50)))
    app.static_folder = str(static)
    hero = static / "img" / "hero.jpg"
    hero.write_bytes(image_bytes("JPEG", (900, 500)))
    article = make_article("with-static")
    article.hero_image_path, article.hero_image_alt = "img/hero.jpg", "The box"
    db.session.commit()
    assert 'width="900" height="500"' in hero_img(client.get("/blog/with-static").text)

    # Replaced on disk by a different image: the page follows (remembered by modification time).
    hero.write_bytes(image_bytes("JPEG", (640, 480)))
    stamp = hero.stat().st_mtime_ns + 5_000_000_000
    os.utime(hero, ns=(stamp, stamp))
    assert 'width="640" height="480"' in hero_img(client.get("/blog/with-static").text)

    # A missing file, one that is not an image, or a path out of static/: no size, never a wrong one.
    (static / "img" / "notes.jpg").write_text("not an image")
    for path in ("img/missing.jpg", "img/notes.jpg", "../outside.png"):
        article.hero_image_path = path
        db.session.commit()
        img = hero_img(client.get("/blog/with-static").text)
        assert "width=" not in img and "height=" not in img, path
