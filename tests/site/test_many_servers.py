"""Many servers: two shop instances behind one address behave as one shop.

The rule (README, Production): any number of instances may serve the shop when they share one
PostgreSQL, one Redis and the same settings (SECRET_KEY above all). Then, whichever instance a
load balancer picks for each request:

- a rate limit counts the requests to every instance together (its counters live in Redis), so
  spreading requests over the servers gains nothing;
- a session and the CSRF token it carries, made by one instance, are accepted by every other
  (both are signed with the shared SECRET_KEY); a token that is not the session's is refused;
  a form on a page one instance rendered and another served from the cache posts to either;
- a change made through one instance (a comment approved in the admin) shows on every instance
  at once: rendered pages live in the shared page cache and are invalidated there, not per server;
- Stripe's deliveries, split over the instances and some sent to both at the same moment, are
  each recorded once and applied once: one subscription per checkout, each paid invoice once, one
  box per paid month, each email sent once.

The instances, their job workers, the Stripe emulator and a mail server run as real processes
and threads (tests/site/two_shops.py). PostgreSQL only: SQLite is one file on one machine.
"""

from __future__ import annotations

import html
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import func, select

from shop.billing.models import CalendarBox, Invoice, Subscription, WebhookEvent
from shop.comments.models import Comment, CommentStatus
from shop.stripe_emulator.webhooks import delivery_headers
from tests.builders.content import make_admin, make_article, make_comment
from tests.conftest import IS_POSTGRES
from tests.faults.servers import TEST_WEBHOOK_SECRET, ShopServer
from tests.faults.storm import check_convergence, pending_work, wait_until_settled
from tests.site.two_shops import COMMENT_MIN_SECONDS, TwoShops, wait_for
from tests.stripe_emulator.conftest import GOOD_CARD, card_form

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES,
    reason="two servers share one database only on PostgreSQL (SQLite is a file on one "
    "machine); CI runs this with TEST_DATABASE_URL=postgresql+psycopg://...",
)

TIMEOUT = 15  # seconds for any one HTTP request
SETTLE_SECONDS = 60
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_STAMP = re.compile(r'name="rendered_at"[^>]*value="([^"]+)"')
_ATTEMPT = re.compile(r'name="attempt"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoShops]:
    with TwoShops(tmp_path_factory.mktemp("two-shops")) as running:
        yield running


def browser() -> requests.Session:
    """A visitor: one cookie jar for both instances, as behind one address (cookies do not
    depend on the port)."""
    return requests.Session()


def get(visitor: requests.Session, url: str) -> requests.Response:
    return visitor.get(url, timeout=TIMEOUT, allow_redirects=False)


def post(visitor: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    return visitor.post(url, data=data, timeout=TIMEOUT, allow_redirects=False)


def form_token(visitor: requests.Session, url: str) -> str:
    """GET a page with a form; its CSRF token."""
    page = get(visitor, url)
    assert page.status_code == 200, (url, page.status_code)
    found = _CSRF.search(page.text)
    assert found, f"no csrf_token on {url}"
    return html.unescape(found.group(1))


def signed_in_admin(shops: TwoShops, server: ShopServer) -> requests.Session:
    """A new admin signed in through `server`'s login form."""
    email, password = f"admin-{uuid.uuid4().hex[:8]}@musclebox.test", "correct horse battery"
    with shops.db():
        make_admin(email, password)
    admin = browser()
    token = form_token(admin, server.url("/admin/login"))
    answer = post(
        admin,
        server.url("/admin/login"),
        {"email": email, "password": password, "csrf_token": token},
    )
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    return admin


def rename_behind_the_shops_back(shops: TwoShops, article_id: int, title: str) -> None:
    """Retitle an article with plain SQL, which no instance hears of: a page that still shows the
    old title was served from the cache."""
    engine = sa.create_engine(shops.database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE articles SET title = :title WHERE id = :id"),
                {"title": title, "id": article_id},
            )
    finally:
        engine.dispose()


def test_a_rate_limit_counts_the_requests_to_every_instance(shops: TwoShops, show) -> None:
    # CUSTOMER_LOGIN_RATE_LIMIT is 3 per minute per address; every request here comes from
    # 127.0.0.1, alternately through A and B.
    visitor = browser()
    answers = []
    for n, (name, server) in enumerate([("A", shops.a), ("B", shops.b)] * 3):
        token = form_token(visitor, server.url("/account/login"))
        answer = post(
            visitor,
            server.url("/account/login"),
            {"email": f"nobody{n}@example.com", "csrf_token": token},
        )
        answers.append((name, answer.status_code, answer.headers.get("X-RateLimit-Remaining")))
    show(f"\nsign-in requests (instance, status, remaining): {answers}")
    # The fourth request, B's second, is refused though B itself had let only one through: the
    # count is shared.
    assert [status for _name, status, _left in answers] == [303, 303, 303, 429, 429, 429]
    assert [left for _name, _status, left in answers[:3]] == ["2", "1", "0"]


def test_a_session_and_csrf_token_made_on_one_instance_are_valid_on_the_other(
    shops: TwoShops,
) -> None:
    email, password = "owner@musclebox.test", "correct horse battery staple"
    with shops.db():
        make_admin(email, password)
    visitor = browser()
    token = form_token(visitor, shops.a.url("/admin/login"))
    login_b = shops.b.url("/admin/login")

    # Refused on B: another visitor's token with this visitor's session, a token altered by
    # hand, and this visitor's token without their session cookie.
    stranger = browser()
    strangers_token = form_token(stranger, shops.a.url("/admin/login"))
    altered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for forged in (strangers_token, altered):
        answer = post(
            visitor, login_b, {"email": email, "password": password, "csrf_token": forged}
        )
        assert answer.status_code == 400, answer.status_code
    no_cookie = requests.post(
        login_b,
        data={"email": email, "password": password, "csrf_token": token},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    assert no_cookie.status_code == 400
    assert get(visitor, shops.a.url("/admin/")).status_code == 303  # still signed out

    # A's form, posted to B with A's cookie: accepted, and the admin is signed in on both.
    answer = post(visitor, login_b, {"email": email, "password": password, "csrf_token": token})
    assert answer.status_code == 303, answer.text[:500]
    assert urlsplit(answer.headers["Location"]).path == "/admin/"
    for server in (shops.a, shops.b):
        page = get(visitor, server.url("/admin/"))
        assert page.status_code == 200, (server.base_url, page.status_code)
        assert "Sign out" in page.text
    assert get(stranger, shops.b.url("/admin/")).status_code == 303


def test_a_comment_approved_on_one_instance_shows_on_the_other_at_once(shops: TwoShops) -> None:
    held_text = f"Held for moderation {uuid.uuid4().hex[:8]}"
    with shops.db():
        article = make_article(title="Deadlifts on two servers")
        comment = make_comment(article, body=held_text, status=CommentStatus.PENDING)
        path, article_id, comment_id = f"/blog/{article.slug}", article.id, comment.id

    def read(server: ShopServer) -> str:
        """The article as an anonymous reader (no cookies) sees it on `server`."""
        page = requests.get(server.url(path), timeout=TIMEOUT)
        assert page.status_code == 200, (server.base_url, page.status_code)
        return html.unescape(page.text)

    for server in (shops.a, shops.b, shops.a, shops.b):
        page = read(server)
        assert "Deadlifts on two servers" in page and held_text not in page

    # Renamed behind the shop's back: both instances still serve the page they have cached, so
    # the check below is about invalidation, not about rendering anew.
    rename_behind_the_shops_back(shops, article_id, "Deadlifts, renamed quietly")
    for server in (shops.a, shops.b):
        assert "Deadlifts on two servers" in read(server), f"{server.base_url} did not cache"

    admin = signed_in_admin(shops, shops.a)
    token = form_token(admin, shops.a.url("/admin/comments?status=pending"))
    approved = post(
        admin,
        shops.a.url(f"/admin/comments/{comment_id}/moderate"),
        {"action": "approve", "csrf_token": token},
    )
    assert approved.status_code == 303, approved.text[:500]

    # At once, on the instance that did not make the change too.
    for server in (shops.b, shops.a):
        page = read(server)
        assert held_text in page, f"{server.base_url} still shows the old page\n{shops.logs()}"
        assert "Deadlifts, renamed quietly" in page


def test_a_form_on_a_page_one_instance_cached_posts_to_the_other(shops: TwoShops) -> None:
    """The shared copy's holes (CSRF token, time stamp) are filled for each visitor by whichever
    instance serves it, and the other instance accepts them."""
    with shops.db():
        article = make_article(title="Squats on two servers")
        path, article_id = f"/blog/{article.slug}", article.id
    assert requests.get(shops.a.url(path), timeout=TIMEOUT).status_code == 200  # A renders it
    rename_behind_the_shops_back(shops, article_id, "Squats, renamed quietly")

    visitor = browser()
    page = get(visitor, shops.b.url(path))
    assert page.status_code == 200
    assert "Squats on two servers" in page.text, "B did not serve the cached copy"
    token, stamp = _CSRF.search(page.text), _STAMP.search(page.text)
    assert token and stamp, "no comment form on the article"
    time.sleep(COMMENT_MIN_SECONDS + 0.2)  # a person takes longer than the time trap to type
    body = f"Tried this on leg day {uuid.uuid4().hex[:8]}"
    posted = post(
        visitor,
        shops.a.url(f"{path}/comments"),
        {
            "csrf_token": html.unescape(token.group(1)),
            "rendered_at": html.unescape(stamp.group(1)),
            "comment": body,
            "author": "Robin Squat",
            "email": "robin@example.com",
            "url": "",
            "mb_trap": "",
        },
    )
    assert posted.status_code == 303, posted.text[:500]
    with shops.db() as session:
        comment = session.scalars(select(Comment).where(Comment.body == body)).one()
        # Held as a first comment is, not caught by the time trap as a bot.
        assert comment.status is CommentStatus.PENDING, comment.status_reasons

    # Their own held comment is on the page each instance makes for them, never on the shared one.
    own = get(visitor, shops.b.url(path))
    assert body in html.unescape(own.text) and "awaiting moderation" in own.text
    anonymous = requests.get(shops.a.url(path), timeout=TIMEOUT)
    assert body not in html.unescape(anonymous.text)


# -- webhooks ---------------------------------------------------------------------------------


def checkout(shops: TwoShops, server: ShopServer, box: str, term: int, email: str) -> str:
    """Subscribe through `server`'s box page and pay on the emulator's hosted page, as a
    customer does (the success page is never visited: only webhooks tell the shop). Returns the
    Checkout Session id."""
    customer = browser()
    page = get(customer, server.url(f"/boxes/{box}"))
    assert page.status_code == 200, page.status_code
    token, attempt = _CSRF.search(page.text), _ATTEMPT.search(page.text)
    assert token and attempt, "no Subscribe button on the box page"
    started = post(
        customer,
        server.url("/checkout"),
        {
            "csrf_token": html.unescape(token.group(1)),
            "plan_id": str(shops.plan_ids[f"{box}-{term}m"]),
            "attempt": html.unescape(attempt.group(1)),
        },
    )
    assert started.status_code == 303, started.text[:500]
    hosted = urlsplit(started.headers["Location"])
    assert f"{hosted.hostname}:{hosted.port}" == urlsplit(shops.emulator.base_url).netloc
    paid = shops.emulator.app.test_client().post(
        hosted.path + (f"?{hosted.query}" if hosted.query else ""),
        data=card_form(GOOD_CARD, email=email, card_name="Kim Lifter", shipping_name="Kim Lifter"),
    )
    assert paid.status_code == 303, paid.get_data(as_text=True)[:500]
    found = re.search(r"session_id=(cs_test_[A-Za-z0-9]+)", paid.headers["Location"])
    assert found, paid.headers["Location"]
    return found.group(1)


MAX_ATTEMPTS = 5


def deliver(url: str, body: str) -> list[int]:
    """POST one event as Stripe does (signed now, with the real scheme), trying again on a
    non-2xx answer as Stripe would, a bounded number of times. The statuses, in order."""
    statuses = []
    for attempt in range(MAX_ATTEMPTS):
        try:
            answer = requests.post(
                url,
                data=body.encode(),
                headers=delivery_headers(body, TEST_WEBHOOK_SECRET),
                timeout=TIMEOUT,
            )
            statuses.append(answer.status_code)
            if 200 <= answer.status_code < 300:
                break
        except requests.RequestException:
            statuses.append(0)
        time.sleep(0.2 * 2**attempt)
    return statuses


def test_webhook_deliveries_split_across_instances_are_applied_exactly_once(
    shops: TwoShops, show
) -> None:
    checkout(shops, shops.a, "musclebox", 3, "kim@example.com")
    checkout(shops, shops.b, "protein-musclebox", 1, "lee@example.com")
    events = shops.stripe_events()
    assert len(events) >= 10, [event_id for event_id, _body in events]

    # Alternately to A and B; every third event to both at the same moment as well (adjacent
    # in the plan, so two of the four senders carry them together).
    servers = {"A": shops.a, "B": shops.b}
    plan: list[tuple[str, str, str]] = []
    for n, (event_id, body) in enumerate(events):
        first, other = ("A", "B") if n % 2 == 0 else ("B", "A")
        plan.append((first, event_id, body))
        if n % 3 == 0:
            plan.append((other, event_id, body))
    results: dict[int, list[int]] = {}
    lock = threading.Lock()

    def send(index: int) -> None:
        name, _event_id, body = plan[index]
        statuses = deliver(servers[name].url("/webhooks/stripe"), body)
        with lock:
            results[index] = statuses

    with ThreadPoolExecutor(max_workers=4) as senders:
        list(senders.map(send, range(len(plan))))

    settled, waited = wait_until_settled(shops.app, SETTLE_SECONDS)
    assert settled, f"still pending (events, emails): {pending_work(shops.app)}\n{shops.logs()}"
    wait_for(lambda: len(shops.smtp.messages) >= 2, timeout=5)

    per_instance = Counter(name for name, _id, _body in plan)
    retried = {plan[i][1]: statuses for i, statuses in results.items() if len(statuses) > 1}
    show(
        f"\n{len(events)} events, {len(plan)} deliveries ({per_instance['A']} to A, "
        f"{per_instance['B']} to B, {len(plan) - len(events)} to both), settled {waited:.1f}s "
        f"later; retried: {retried or 'none'}"
    )
    # Both workers take jobs from the one queue; which takes what is up to the queue.
    ran = {
        name: worker.log_text().count("Executing shop.jobs.apply_event")
        for name, worker in shops.workers.items()
    }
    show(f"events applied by worker A: {ran['a']}, by worker B: {ran['b']}")
    gave_up = [plan[i][:2] for i, statuses in results.items() if not 200 <= statuses[-1] < 300]
    assert not gave_up, f"deliveries never accepted: {gave_up}\n{shops.logs()}"

    sent_ids = {event_id for event_id, _body in events}
    result = check_convergence(shops.app, shops.emulator.emulator, sent_ids, shops.smtp.messages)
    show("facts:", dict(sorted(result.facts.items())))
    assert not result.lost and not result.twice and not result.differ, result.problems()
    assert not result.misordered, result.problems()
    with shops.db() as session:
        recorded = Counter(session.scalars(select(WebhookEvent.stripe_event_id)))
        assert set(recorded) == sent_ids
        assert set(recorded.values()) == {1}
        assert session.scalar(select(func.count(Subscription.id))) == 2
        assert session.scalar(select(func.count(Invoice.id))) == 2
        # Three boxes for the 3-month term, one for the monthly plan.
        assert session.scalar(select(func.count(CalendarBox.id))) == 4
    assert result.facts["email subscription_confirmed"] == 2  # each subscriber told once
