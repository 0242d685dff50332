"""Demo content for development and demos: three boxes, one author, articles, comments.

Written for this project. `seed_demo()` is idempotent: running it twice changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shop.blog.models import Article, ArticleStatus
from shop.blog.services import ArticleSource, save_article
from shop.catalog.models import Box, Plan
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.extensions import db

BOXES = [
    {
        "slug": "musclebox",
        "name": "MuscleBox",
        "tagline": "Our men's box, built to motivate you and smash your fitness and bodybuilding goals.",
        "description": (
            "Every month: full-size supplements, high-protein snacks and a piece of training gear, "
            "chosen by coaches who lift. Built for men who want to add size, strength and "
            "consistency to their training."
        ),
        "whats_inside": [
            "A full-size pre-workout or recovery supplement",
            "High-protein bars and snacks for the week",
            "A piece of gym gear: straps, bands or a shaker",
            "A training plan card from one of our coaches",
        ],
        "image_path": "img/boxes/musclebox.svg",
        "image_alt": "An open red MuscleBox holding a shaker bottle, a folded gym towel, a protein bar and a resistance band",
        "position": 1,
    },
    {
        "slug": "miss-musclebox",
        "name": "Miss MuscleBox",
        "tagline": "Our women's box, for getting fit, toning up and staying active.",
        "description": (
            "Clean supplements, lighter snacks and workout accessories picked for women who want "
            "to get fit, tone up and keep moving — at home, outdoors or in the gym."
        ),
        "whats_inside": [
            "A clean protein or collagen supplement",
            "Low-sugar snacks for busy days",
            "Workout accessories: resistance bands, a drink bottle, a towel",
            "A monthly mini-program from our physiologists",
        ],
        "image_path": "img/boxes/miss-musclebox.svg",
        "image_alt": "An open pink Miss MuscleBox holding a water bottle, two snack bars, a rolled towel and three loop bands, with hair ties beside it",
        "position": 2,
    },
    {
        "slug": "protein-musclebox",
        "name": "Protein MuscleBox",
        "tagline": "All protein, all month: for weight loss and muscle repair.",
        "description": (
            "A box entirely dedicated to protein: powders, bars, chips and spreads from Australian "
            "and international brands, to help with weight loss and muscle repair."
        ),
        "whats_inside": [
            "A protein powder to try this month",
            "Protein bars, cookies and chips",
            "A high-protein spread or snack",
            "Recipes that hit your protein target",
        ],
        "image_path": "img/boxes/protein-musclebox.svg",
        "image_alt": "An open teal Protein MuscleBox holding a tub of whey protein with its scoop and two protein bars, with protein sachets beside it",
        "position": 3,
    },
]

# Price in AUD cents for each term in months: longer terms cost less a month.
PLAN_PRICES = {
    "musclebox": {1: 4995, 3: 13995, 6: 26995, 12: 49995},
    "miss-musclebox": {1: 4495, 3: 12495, 6: 23995, 12: 44995},
    "protein-musclebox": {1: 5495, 3: 15495, 6: 29995, 12: 54995},
}

AUTHOR = {
    "author_name": "Mia Harper",
    "author_credentials": "Strength and Conditioning Coach (ASCA Level 2)",
    "author_bio": (
        "Mia coaches lifters and weekend athletes in Brisbane. She writes about training that "
        "fits real lives: short sessions, steady progress and fewer injuries."
    ),
    "author_social": {"instagram": "https://www.instagram.com/musclebox.demo"},
}

ARTICLES = [
    {
        "slug": "five-habits-of-lifters-who-keep-progressing",
        "title": "Five Habits of Lifters Who Keep Progressing",
        "tags": ("strength", "training"),
        "days_ago": 21,
        "body": """\
Progress in the gym rarely stalls because of one bad session. It stalls because of small habits
that add up. These are the five I see in every lifter who keeps getting stronger.

## 1. They write it down

A notebook or an app, it doesn't matter. If you can't see last week's numbers you can't beat them.

## 2. They repeat the basics

Squat, hinge, push, pull, carry. Variety is fun; repetition builds strength.

## 3. They add a little, often

Two and a half kilos a week adds up to well over a hundred in a year. Be patient.

## 4. They sleep

Seven to nine hours. Recovery is where the adaptation happens.

## 5. They eat enough protein

Roughly 1.6 g per kilogram of body weight a day covers most people who lift.
""",
    },
    {
        "slug": "protein-timing-what-actually-matters",
        "title": "Protein Timing: What Actually Matters",
        "tags": ("nutrition", "protein"),
        "days_ago": 12,
        "body": """\
Do you need a shake within thirty minutes of your last set? Probably not. What matters most is
how much protein you eat across the whole day, and how you spread it out.

- Aim for a total that suits your goals (most lifters do well around 1.6 g/kg a day).
- Split it over three to five meals of about 0.3 g/kg each.
- A serve before bed can help overnight recovery.

If a shake after training is the easiest way to hit your numbers, keep it. Convenience wins.
""",
    },
    {
        "slug": "your-first-month-back-at-the-gym",
        "title": "Your First Month Back at the Gym",
        "tags": ("training", "beginners"),
        "days_ago": 3,
        "body": """\
Coming back after a break is exciting, and it's also when most people get hurt or burn out.
Here's a simple plan for the first four weeks.

1. **Week one:** two full-body sessions, everything light, leave plenty in the tank.
2. **Week two:** three sessions, add a set to your main lifts.
3. **Week three:** add a little weight where the last set felt easy.
4. **Week four:** keep the weights, tidy up your technique, plan the next block.

Soreness is normal; sharp or lasting pain is not. If something hurts, see a physio or an
exercise physiologist before you push through it.
""",
    },
]

# (article slug, name, email, body, status, days after publishing)
COMMENTS = [
    ("five-habits-of-lifters-who-keep-progressing", "Tom Nguyen", "tom.nguyen@example.com",
     "Writing everything down changed my training. Three months in and my squat is up 20 kg.",
     CommentStatus.APPROVED, 1),
    ("five-habits-of-lifters-who-keep-progressing", "Priya Shah", "priya.shah@example.com",
     "How do you fit in sleep with shift work? Any tips?", CommentStatus.APPROVED, 2),
    ("five-habits-of-lifters-who-keep-progressing", "Ben Carter", "ben.carter@example.com",
     "Is 1.6 g/kg still right if I'm trying to lose weight?", CommentStatus.PENDING, 3),
    ("protein-timing-what-actually-matters", "Lauren Mills", "lauren.mills@example.com",
     "Good to know I don't have to panic about the 30-minute window!", CommentStatus.APPROVED, 1),
    ("protein-timing-what-actually-matters", "cheap pills", "deals@spam.example",
     "Buy cheap supplements now http://spam.example/a http://spam.example/b",
     CommentStatus.SPAM, 1),
    ("your-first-month-back-at-the-gym", "Alex Reid", "alex.reid@example.com",
     "Following this plan from Monday. Wish me luck.", CommentStatus.PENDING, 1),
    ("your-first-month-back-at-the-gym", "Old Account", "old.account@example.com",
     "Testing, please ignore.", CommentStatus.TRASH, 1),
]  # fmt: skip

DEMO_REPLY = (
    "priya.shah@example.com",
    "Mia Harper",
    "Great question, Priya. Keep the room dark and cool and protect one long block of sleep, "
    "even if the time of day moves.",
)


def seed_demo() -> list[str]:
    """Load the demo content that is not there yet. Commits; returns what it added."""
    added: list[str] = []
    for data in BOXES:
        box = db.session.scalar(select(Box).where(Box.slug == data["slug"]))
        if box is None:
            box = Box(**data)
            db.session.add(box)
            added.append(f"box {data['slug']}")
        for months, cents in PLAN_PRICES[box.slug].items():
            lookup_key = f"{box.slug}-{months}m"
            if db.session.scalar(select(Plan.id).where(Plan.lookup_key == lookup_key)) is None:
                box.plans.append(Plan(term_months=months, price_cents=cents, lookup_key=lookup_key))
                added.append(f"plan {lookup_key}")
    db.session.commit()

    now = utcnow()
    for data in ARTICLES:
        if db.session.scalar(select(Article.id).where(Article.slug == data["slug"])) is None:
            save_article(
                ArticleSource(
                    title=data["title"],
                    slug=data["slug"],
                    body_markdown=data["body"],
                    tags=data["tags"],
                    status=ArticleStatus.PUBLISHED,
                    published_at=now - timedelta(days=data["days_ago"]),
                    **AUTHOR,
                )
            )
            added.append(f"article {data['slug']}")

    for slug, name, email, body, status, days_after in COMMENTS:
        article = db.session.scalar(select(Article).where(Article.slug == slug))
        if article is None or _has_comment(article.id, email, body):
            continue
        comment = Comment(
            article_id=article.id,
            author_name=name,
            author_email=email,
            body=body,
            status=status,
            status_reasons=["Demo content"],
            created_at=(article.published_at or now) + timedelta(days=days_after),
        )
        db.session.add(comment)
        db.session.flush()
        comment.thread_id = comment.id
        added.append(f"{status.value} comment by {name}")
        if email == DEMO_REPLY[0]:
            reply = Comment(
                article_id=article.id,
                parent_id=comment.id,
                thread_id=comment.id,
                depth=1,
                author_name=DEMO_REPLY[1],
                author_email="coach@musclebox.example",
                body=DEMO_REPLY[2],
                status=CommentStatus.APPROVED,
                status_reasons=["Demo content"],
                is_staff_reply=True,
                created_at=comment.created_at + timedelta(hours=3),
            )
            db.session.add(reply)
            added.append(f"reply by {DEMO_REPLY[1]}")
    db.session.commit()
    return added


def _has_comment(article_id: int, email: str, body: str) -> bool:
    return (
        db.session.scalar(
            select(Comment.id).where(
                Comment.article_id == article_id,
                Comment.author_email == email,
                Comment.body == body,
            )
        )
        is not None
    )
