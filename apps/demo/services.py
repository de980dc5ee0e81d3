"""A believable demo organisation: teams, products joining and retiring, semiannual rounds.

Scores rise over the rounds with monitoring starting far below the other areas, as the
MLOpsScore article describes (seed 000); the MLOpsScore rubric moves from v1 to v2 at the
fourth round; the last round is still open with a mix of not-started, draft and submitted
responses. Everything is drawn from one seeded random generator, so a seed gives the same
organisation every time (only the open round's deadline follows today's date, so the demo
always has days left).

For speed (5,000 products over 12 rounds are 1.7 million answers) the seeder does not go
through the surveys services: it bulk-creates rounds in their final states, responses and
answers, without history rows, and scores everything once at the end with scoring's
`score_all`. It relies on the database to enforce what the services would check: one
response per product and round and one answer per question (unique constraints), an answer's
value on its version's scale, N/A only where the question allows it and never with a value,
and only questions of the round's rubric version (check constraints and the answer triggers
of surveys 0002), a submitted response having its submission time (check constraint). A
generator bug that broke one of them fails the seed instead of leaving bad data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.products.models import Characteristic, Product
from apps.rubrics.models import Question, RubricVersion
from apps.rubrics.rubric_file import parse_rubric_text
from apps.rubrics.services import load_rubric
from apps.scoring.models import (
    CohortMember,
    CohortState,
    ResponseScore,
    RoundAggregate,
    ScoringJob,
)
from apps.scoring.scores import score_all
from apps.surveys.models import Answer, Response, SurveyRound

RUBRIC_DIR = Path(settings.BASE_DIR) / "rubrics"
DEMO_PASSWORD = "demo"
DEMO_RUBRIC = "mlopsscore"
FIRST_ROUND = date(2021, 10, 1)
SECOND_VERSION_FROM_ROUND = 4  # v2 is used from the fourth round on
ZONE = ZoneInfo("Asia/Tokyo")
BATCH = 5000

TEAMS = [
    (
        "search-quality",
        "Search Quality",
        "検索品質",
        ["Web search", "Query suggestion"],
        ["ウェブ検索", "クエリサジェスト"],
    ),
    (
        "ads-platform",
        "Ads Platform",
        "広告プラットフォーム",
        ["Display ads", "Search ads"],
        ["ディスプレイ広告", "検索広告"],
    ),
    (
        "recommendations",
        "Recommendations",
        "レコメンデーション",
        ["Article", "Video"],
        ["記事", "動画"],
    ),
    (
        "fraud-risk",
        "Fraud & Risk",
        "不正検知・リスク",
        ["Payment fraud", "Account takeover"],
        ["決済不正", "アカウント乗っ取り"],
    ),
    (
        "shopping",
        "Shopping",
        "ショッピング",
        ["Product listing", "Coupon"],
        ["商品一覧", "クーポン"],
    ),
    ("news", "News", "ニュース", ["Headline", "Comment moderation"], ["見出し", "コメント監視"]),
    (
        "maps-local",
        "Maps & Local",
        "地図・ローカル",
        ["Place", "Route ETA"],
        ["スポット", "到着時刻"],
    ),
    ("finance", "Finance", "金融", ["Credit", "Stock news"], ["与信", "株式ニュース"]),
    ("auction", "Auction", "オークション", ["Listing price", "Bid"], ["出品価格", "入札"]),
    ("travel", "Travel", "トラベル", ["Hotel", "Flight"], ["ホテル", "航空券"]),
    ("weather", "Weather & Disaster Info", "天気・防災", ["Rain", "Alert"], ["降水", "警報"]),
    (
        "support-ai",
        "Customer Support AI",
        "カスタマーサポートAI",
        ["Inquiry routing", "FAQ"],
        ["問い合わせ振り分け", "FAQ"],
    ),
]
MODEL_KINDS = [
    ("ranker", "ランキング"),
    ("CTR prediction", "CTR予測"),
    ("recommender", "レコメンド"),
    ("classifier", "分類モデル"),
    ("anomaly detector", "異常検知"),
    ("demand forecast", "需要予測"),
    ("embedding model", "埋め込みモデル"),
    ("spam filter", "スパム判定"),
]
STAFF = [
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "ito",
    "watanabe",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
]

# Expected share of the maximum per area at round t (0-based): monitoring starts far below the
# others and climbs; model development rises, then stays flat (fairness is hard); data is slow.
AREA_PROGRESS: dict[str, Callable[[int], float]] = {
    "data": lambda t: 0.38 + 0.012 * t,
    "model": lambda t: 0.39 + 0.03 * min(t, 3),
    "infra": lambda t: 0.35 + 0.03 * t,
    "monitoring": lambda t: 0.14 + 0.06 * t,
}
HARD_QUESTIONS = {"model-fairness": -0.25, "monitoring-training-serving-skew": -0.1}

EVIDENCE = [
    ("Checked by hand before each release; results in the release notes.", None),
    ("Runs in the nightly Airflow DAG; alerts go to #ml-{team}.", "dag"),
    ("CIで自動実行。結果はダッシュボードで確認できます。", "ci"),
    ('Documented in the model card, section "Evaluation".', "wiki"),
    ("手動で確認し、Confluenceに記録しています。", "wiki"),
    ('Automated check in CI (coverage 84%), see pipeline "train, evaluate, deploy".', "ci"),
    ("Monitored with the model-monitoring service:\ndrift, latency and error rate.", "dashboard"),
]
# Why a question does not apply (an N/A answer needs a reason), in either language. (Three,
# drawn as the evidence texts were before: the same seed gives the same organisation.)
NOT_APPLICABLE_REASONS = [
    "Image model: no hand-made features are planned.",
    "生データをそのまま入力しており、特徴量加工はありません。",
    "Batch-only product, nothing is served online.",
]


class DemoError(Exception):
    """The demo cannot be seeded as asked (e.g. the database already has data)."""


@dataclass(frozen=True)
class DemoSummary:
    teams: int
    products: int
    rounds: int
    responses: int
    answers: int
    seconds: float
    logins: tuple[tuple[str, str], ...]


def seed_demo(
    *,
    products: int = 150,
    rounds: int = 6,
    seed: int = 2021,
    reset: bool = False,
    progress: Callable[[str], None] = lambda message: None,
) -> DemoSummary:
    """Build the demo organisation in an empty database (or wipe the old one with reset)."""
    if products < 1 or rounds < 1:
        raise DemoError("Need at least one product and one round.")
    started = time.perf_counter()
    if SurveyRound.objects.exists() or Product.objects.exists():
        if not reset:
            raise DemoError(
                "The database already has products or rounds; run with --reset to replace them "
                "with the demo organisation."
            )
        _wipe()
    rng = random.Random(seed)
    versions = _load_rubrics()
    with transaction.atomic():
        users = _create_users()
        teams = _create_teams(users)
        demo_products = _create_products(rng, teams, products, rounds)
    progress(f"{len(teams)} teams, {len(demo_products)} products")
    survey_rounds = _create_rounds(versions, rounds)
    generator = _AnswerGenerator(rng, demo_products, versions)
    n_responses = n_answers = 0
    for index, survey_round in enumerate(survey_rounds):
        with transaction.atomic():
            responses, answers = generator.fill_round(
                survey_round, index, last=index == len(survey_rounds) - 1, users=users
            )
        n_responses += responses
        n_answers += answers
        progress(f"round {survey_round.key}: {responses} responses, {answers} answers")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics after a bulk load: good plans
            cursor.execute("ANALYZE")
    scoring = score_all()
    progress(f"scored {scoring.get('scored', 0)} responses")
    return DemoSummary(
        teams=len(teams),
        products=len(demo_products),
        rounds=len(survey_rounds),
        responses=n_responses,
        answers=n_answers,
        seconds=time.perf_counter() - started,
        logins=(
            ("demo-admin", "administrator: manages products, rubrics and rounds"),
            ("demo-viewer", "MLOps team: reads everything"),
            ("demo-member", "member of two product teams"),
        ),
    )


def _wipe() -> None:
    """Delete scores, responses, rounds, products and teams in bulk (answer history too)."""
    tables = [
        *(ResponseScore, RoundAggregate, ScoringJob, CohortMember, CohortState),
        Answer.history.model,
        Answer,
        Response.history.model,
        Response,
        SurveyRound,
        Product.characteristics.through,
        Product,
        Team.members.through,
        Team,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def _load_rubrics() -> dict[str, RubricVersion]:
    """Load every shipped rubric file (a no-op when already loaded); return MLOpsScore by label."""
    for path in sorted(RUBRIC_DIR.glob("*.yaml")):
        load_rubric(spec=parse_rubric_text(path.read_text(encoding="utf-8")))
    versions = {
        version.label: version
        for version in RubricVersion.objects.filter(rubric__slug=DEMO_RUBRIC, state="published")
    }
    if not {"v1", "v2"} <= versions.keys():
        raise DemoError(f"rubrics/ must hold {DEMO_RUBRIC} v1 and v2.")
    return versions


def _create_users() -> dict[str, list]:
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is deliberately slow

    def user(username: str, **fields):
        account, _created = User.objects.update_or_create(
            username=username, defaults={"password": password, "is_active": True, **fields}
        )
        return account

    admin = user("demo-admin", is_staff=True, is_superuser=True, email="demo-admin@example.com")
    viewer = user("demo-viewer", email="demo-viewer@example.com")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    member = user("demo-member", email="demo-member@example.com")
    staff = [
        user(f"{name}.{team_slug}", email=f"{name}.{team_slug}@example.com")
        for index, (team_slug, *_rest) in enumerate(TEAMS)
        for name in (STAFF[index], STAFF[(index + 5) % len(STAFF)])
    ]
    return {"admin": [admin], "viewer": [viewer], "member": [member], "staff": staff}


def _create_teams(users: dict[str, list]) -> list[Team]:
    teams = Team.objects.bulk_create(
        Team(slug=slug, name=name, description=f"{name} ({name_ja})")
        for slug, name, name_ja, _themes, _themes_ja in TEAMS
    )
    staff = users["staff"]
    users["by_team"] = {}
    for index, team in enumerate(teams):
        users["by_team"][team.pk] = staff[2 * index : 2 * index + 2]
        team.members.add(*users["by_team"][team.pk])
    # demo-member belongs to two teams, so "my assessments" shows products of both.
    for team in teams[:2]:
        team.members.add(users["member"][0])
    return teams


def _round_dates(rounds: int) -> list[date]:
    return [
        date(
            FIRST_ROUND.year + (FIRST_ROUND.month - 1 + 6 * i) // 12,
            (FIRST_ROUND.month - 1 + 6 * i) % 12 + 1,
            1,
        )
        for i in range(rounds)
    ]


def _create_products(rng: random.Random, teams: list[Team], count: int, rounds: int):
    """Products spread over the teams; most exist from the start, some join or retire later."""
    characteristics = list(Characteristic.objects.order_by("order"))
    serving = [c for c in characteristics if c.key in ("batch-serving", "online-serving")]
    others = [c for c in characteristics if c not in serving]
    first, last = _round_dates(rounds)[0], _round_dates(rounds)[-1]
    span = max((last - first).days, 1)
    rows, picks = [], []
    for index in range(count):
        team_index = rng.randrange(len(teams))
        _slug, _name, _ja, themes, themes_ja = TEAMS[team_index]
        theme = rng.randrange(len(themes))
        kind_en, kind_ja = rng.choice(MODEL_KINDS)
        japanese = rng.random() < 0.3
        name = f"{themes_ja[theme]}{kind_ja}" if japanese else f"{themes[theme]} {kind_en}"
        if rng.random() < 0.8:
            active_from = first - timedelta(days=rng.randrange(30, 1200))
        else:
            active_from = first + timedelta(days=rng.randrange(1, span + 1))
        retired_at = None
        if rng.random() < 0.1:
            retired_at = max(active_from, first) + timedelta(days=rng.randrange(365, 365 * 5))
        rows.append(
            Product(
                slug=f"{slugify(f'{themes[theme]} {kind_en}')}-{index + 1}",
                name=f"{name} {index + 1}" if count > 200 else name,
                team=teams[team_index],
                description=f"{themes[theme]} {kind_en} of {teams[team_index].name}.",
                active_from=active_from,
                retired_at=retired_at,
            )
        )
        chosen = rng.sample(serving, rng.choice((1, 1, 2))) + rng.sample(
            others, rng.randrange(1, 4)
        )
        picks.append(chosen)
    created = Product.objects.bulk_create(rows, batch_size=BATCH)
    Through = Product.characteristics.through
    Through.objects.bulk_create(
        (
            Through(product_id=product.pk, characteristic_id=characteristic.pk)
            for product, chosen in zip(created, picks, strict=True)
            for characteristic in chosen
        ),
        batch_size=BATCH,
    )
    return created


def _create_rounds(versions: dict[str, RubricVersion], count: int) -> list[SurveyRound]:
    now = timezone.now()
    rows = []
    for index, opens_on in enumerate(_round_dates(count)):
        last = index == count - 1
        opens_at = datetime(opens_on.year, opens_on.month, opens_on.day, 10, tzinfo=ZONE)
        closes_at = opens_at + timedelta(days=42)
        if last:
            closes_at = max(closes_at, now + timedelta(days=21))
        version = versions["v2" if index + 1 >= SECOND_VERSION_FROM_ROUND else "v1"]
        rows.append(
            SurveyRound(
                key=f"{opens_on:%Y-%m}",
                title=f"MLOpsScore {opens_on:%Y-%m}",
                rubric_version=version,
                rubric_id=version.rubric_id,  # bulk_create does not call save()
                opens_at=opens_at,
                closes_at=closes_at,
                state=SurveyRound.State.OPEN if last else SurveyRound.State.CLOSED,
            )
        )
    return SurveyRound.objects.bulk_create(rows)


class _AnswerGenerator:
    """Draws each product's answers round by round, consistently across rounds."""

    def __init__(self, rng: random.Random, products: list[Product], versions):
        self.rng = rng
        self.products = products
        self.questions = {
            version.pk: list(
                Question.objects.filter(version=version)
                .select_related("area")
                .order_by("area__order", "order")
            )
            for version in versions.values()
        }
        keys = sorted({q.key for questions in self.questions.values() for q in questions})
        # Stable per product and question: a product that does something keeps doing it.
        self.position = {product.pk: {key: rng.random() for key in keys} for product in products}
        self.not_applicable = {
            product.pk: {key for key in keys if rng.random() < 0.12} for product in products
        }
        self.skill = {product.pk: rng.gauss(0, 0.12) for product in products}
        self.sloppy = {product.pk: rng.random() < 0.1 for product in products}
        self.difficulty = {key: HARD_QUESTIONS.get(key, rng.uniform(-0.08, 0.08)) for key in keys}

    def fill_round(
        self, survey_round: SurveyRound, index: int, *, last: bool, users
    ) -> tuple[int, int]:
        rng = self.rng
        opens_on = survey_round.opens_at.date()
        active = [
            product
            for product in self.products
            if product.active_from <= opens_on
            and (product.retired_at is None or product.retired_at > opens_on)
        ]
        by_team = users["by_team"]
        plans = []
        for product in active:
            draw = rng.random()
            if last:
                status = "none" if draw < 0.35 else "draft" if draw < 0.6 else "submitted"
            else:
                missing = 0.15 if self.sloppy[product.pk] else 0.02
                status = "none" if draw < missing else "submitted"
            if status != "none":
                plans.append((product, status, rng.choice(by_team[product.team_id])))
        responses = Response.objects.bulk_create(
            (
                Response(
                    round=survey_round,
                    product=product,
                    status=status,
                    submitted_at=(
                        survey_round.opens_at
                        + timedelta(days=rng.randrange(3, 40), hours=rng.randrange(8))
                        if status == "submitted"
                        else None
                    ),
                    submitted_by=author if status == "submitted" else None,
                )
                for product, status, author in plans
            ),
            batch_size=BATCH,
        )
        questions = self.questions[survey_round.rubric_version_id]
        count = 0
        batch: list[Answer] = []
        for response, (product, status, author) in zip(responses, plans, strict=True):
            answers = self._answers(response, product, questions, index, draft=status == "draft")
            for answer in answers:
                answer.updated_by = author
                batch.append(answer)
                if len(batch) >= BATCH:
                    Answer.objects.bulk_create(batch)
                    count += len(batch)
                    batch = []
        Answer.objects.bulk_create(batch)
        return len(responses), count + len(batch)

    def _answers(self, response, product, questions, index, *, draft: bool) -> Iterator[Answer]:
        rng = self.rng
        # Newcomers start lower: what the cohort has learnt, a new product has yet to.
        age = sum(1 for day in _round_dates(index + 1) if day >= product.active_from)
        shift = self.skill[product.pk] - (0.08 if age <= 2 else 0)
        answered_share = rng.uniform(0.3, 0.9) if draft else 1.0
        left_open = rng.randrange(len(questions)) if draft else -1  # a draft is never complete
        team_slug = product.team.slug
        for position, question in enumerate(questions):
            if draft and (position == left_open or rng.random() > answered_share):
                continue
            key = question.key
            if question.na_allowed and key in self.not_applicable[product.pk]:
                yield Answer(
                    response=response,
                    question=question,
                    not_applicable=True,
                    not_applicable_reason=NOT_APPLICABLE_REASONS[
                        rng.randrange(len(NOT_APPLICABLE_REASONS))
                    ],
                )
                continue
            level = AREA_PROGRESS[question.area.key](index) + shift + self.difficulty[key]
            level = min(max(level, 0.0), 0.92)
            threshold = self.position[product.pk][key] + rng.gauss(0, 0.04)
            if threshold < level - 0.2:
                value = Decimal("1")
            elif threshold < level + 0.2:
                value = Decimal("0.5")
            else:
                value = Decimal("0")
            evidence, url = "", ""
            if value > 0:
                text, link = EVIDENCE[rng.randrange(len(EVIDENCE))]
                evidence = text.format(team=team_slug)
                if link:
                    url = f"https://{link}.example.com/{product.slug}/{key}"
            yield Answer(
                response=response,
                question=question,
                value=value,
                evidence=evidence,
                evidence_url=url,
            )
