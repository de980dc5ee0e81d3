"""Autosave under load: N signed-in users answer their products' questionnaires at once
against a real gunicorn on PostgreSQL, each save carrying the revision the previous save of
that question returned (as the page does). Prints saves/s, p50/p95, errors, and checks that
every acknowledged save is in the database at the end (the answer's current revision and
value, and a history row for each acknowledged save).

    .venv/bin/pip install -e ".[bench]"        # aiohttp
    .venv/bin/python benchmarks/autosave.py    # 50 users, 30 s, 2 workers; see --help

It (re)creates the PostgreSQL database maturity_load (psql -h 127.0.0.1 -U postgres), seeds
the demo organisation in it (150 products, 6 rounds, the last one open), gives each product
taking part two users of its team who answer different questions of it (teammates saving
the same response at once; some products not started, so their first save starts the
response), serves the app with gunicorn (DEBUG off, behind a pretend TLS proxy:
X-Forwarded-Proto https) and drops the database at the end unless --keep-db.
"""

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PSQL = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"]
PASSWORD = "load-test-password"  # the local benchmark users only


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3, help="seconds not counted, first")
    parser.add_argument("--per-product", type=int, default=2, help="teammates per product")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="gthread threads; 0: sync")
    parser.add_argument("--database", default="maturity_load")
    parser.add_argument("--products", type=int, default=150, help="demo products to seed")
    parser.add_argument("--reuse-db", action="store_true", help="skip drop, migrate and seed")
    parser.add_argument("--keep-db", action="store_true", help="do not drop it at the end")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the server (cache)")
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args()


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """Production-like settings: DEBUG off, a real key, static files from collectstatic."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        TRUST_X_FORWARDED_PROTO="true",  # as behind the TLS-terminating proxy
        STATIC_ROOT=f"/tmp/{args.database}-static",
        LOG_LEVEL="WARNING",
    )
    if args.redis_url:
        env.update(REDIS_URL=args.redis_url, CACHE_KEY_PREFIX=f"{args.database}-bench")
    return env


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    python = str(ROOT / ".venv/bin/python")
    run([*PSQL, "-c", f"DROP DATABASE IF EXISTS {args.database}"], env)
    run([*PSQL, "-c", f"CREATE DATABASE {args.database}"], env)
    run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    run([python, "manage.py", "seed_demo", "--products", str(args.products)], env)


@dataclass
class Seat:
    """One benchmark user: their product and the questions they (alone) answer."""

    username: str
    product_id: int
    slug: str
    questions: list[tuple[str, bool]]  # key, N/A allowed
    revisions: dict[str, int] = field(default_factory=dict)


def prepare_users(args: argparse.Namespace):
    """Users load-NNN in the teams of the products they answer, with different questions."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from apps.products.models import Product
    from apps.surveys.models import Answer, Response, SurveyRound

    survey_round = SurveyRound.objects.select_related("rubric_version").get(state="open")
    version = survey_round.rubric_version
    questions = list(
        version.questions.order_by("area__order", "order").values_list("key", "na_allowed")
    )
    levels = [format(v.normalize(), "f") for v in version.levels.values_list("value", flat=True)]
    opened = survey_round.opens_at.date()
    submitted = Response.objects.filter(round=survey_round, status="submitted")
    candidates = [
        product
        for product in Product.objects.select_related("team")
        .exclude(pk__in=submitted.values("product_id"))
        .order_by("slug")
        if product.active_from <= opened
        and not (product.retired_at and product.retired_at <= opened)
    ]
    needed = -(-args.users // args.per_product)
    if len(candidates) < needed:
        sys.exit(f"only {len(candidates)} products to answer; seed more (--products)")
    products = random.Random(args.seed).sample(candidates, needed)
    User = get_user_model()
    User.objects.filter(username__startswith="load-").delete()
    password = make_password(PASSWORD)  # hashed once: every user gets the same password
    seats = []
    for index in range(args.users):
        product = products[index // args.per_product]
        user = User.objects.create(username=f"load-{index:03d}", password=password)
        product.team.members.add(user)
        mine = questions[index % args.per_product :: args.per_product]
        seats.append(Seat(user.username, product.pk, product.slug, mine))
    # The revisions the questionnaire page would show.
    stored = dict(
        ((product_id, key), revision)
        for product_id, key, revision in Answer.objects.filter(
            response__round=survey_round, response__product__in=products
        ).values_list("response__product_id", "question__key", "revision")
    )
    for seat in seats:
        for key, _na in seat.questions:
            if (seat.product_id, key) in stored:
                seat.revisions[key] = stored[seat.product_id, key]
    started = Response.objects.filter(round=survey_round, product__in=products).count()
    return survey_round, levels, seats, len(products) - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], port: int):
    run([str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v", "0"], env)
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--log-level",
        "warning",
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not answer /healthz within 30 s")


class Browser:
    """One user's session: its cookies (Secure ones too, over the pretend TLS proxy)."""

    def __init__(self, client: aiohttp.ClientSession, origin: str):
        self.client, self.origin, self.cookies = client, origin, {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {
            "X-Forwarded-Proto": "https",
            "Origin": self.origin,
            "Referer": self.origin + "/",
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
        }
        return headers | (extra or {})

    def _keep(self, reply: aiohttp.ClientResponse) -> None:
        for header in reply.headers.getall("Set-Cookie", []):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value

    async def get(self, path: str) -> int:
        async with self.client.get(path, headers=self._headers()) as reply:
            self._keep(reply)
            await reply.read()
            return reply.status

    async def post(self, path: str, fields: dict[str, str], **headers) -> tuple[int, dict]:
        """The status and, for JSON, the reply's data."""
        # As the page's FormData: multipart/form-data.
        form = aiohttp.FormData(fields, default_to_multipart=True)
        async with self.client.post(
            path, data=form, headers=self._headers(headers), allow_redirects=False
        ) as reply:
            self._keep(reply)
            json = reply.content_type == "application/json"
            return reply.status, (await reply.json()) if json else {}

    async def log_in(self, username: str) -> None:
        await self.get("/accounts/login/")
        fields = {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": self.cookies["csrftoken"],
        }
        status, _data = await self.post("/accounts/login/", fields)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"{username} could not log in: {status}")


@dataclass
class Ack:
    product_id: int
    question: str
    revision: int
    value: str
    evidence: str


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # ms, saves finished in the window
    acks: list[Ack] = field(default_factory=list)  # every acknowledged save, warm-up too
    in_window: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds used in the window
    backends: tuple[set[int], set[int]] = (set(), set())  # PostgreSQL's, at its start and end


def processes(server_pid: int, database: str) -> dict[str, list[int]]:
    """gunicorn's master and workers, and the PostgreSQL backends serving `database`."""
    found: dict[str, list[int]] = {"gunicorn": [server_pid], "postgresql": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid:
            found["gunicorn"].append(int(entry.name))
        elif command.startswith("postgres: ") and f" postgres {database} " in command:
            found["postgresql"].append(int(entry.name))
    return found


def cpu_times(found: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """CPU seconds (user + system) each process has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    times: dict[str, dict[int, float]] = {}
    for kind, pids in found.items():
        times[kind] = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            times[kind][pid] = (int(fields[11]) + int(fields[12])) / tick
    times["client"] = {0: time.process_time()}
    return times


async def drive(args, seats, levels, round_key: str, port: int, server_pid: int) -> Tally:
    origin = f"https://127.0.0.1:{port}"
    tally = Tally()
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{port}",
        connector=aiohttp.TCPConnector(limit=len(seats) + 10),
        cookie_jar=aiohttp.DummyCookieJar(),  # Browser keeps them: Secure over plain HTTP
        timeout=aiohttp.ClientTimeout(total=30),
    ) as client:
        browsers = [Browser(client, origin) for _ in seats]
        gate = asyncio.Semaphore(4)  # logins hash passwords: a few at a time

        async def log_in(browser: Browser, seat: Seat) -> None:
            async with gate:
                await browser.log_in(seat.username)
                status = await browser.get(f"/assess/{round_key}/{seat.slug}/")
                if status != 200:
                    raise RuntimeError(f"{seat.username}: questionnaire {status}")

        await asyncio.gather(*(log_in(b, s) for b, s in zip(browsers, seats, strict=True)))
        print(f"{len(seats)} users signed in; driving for {args.warmup:g} + {args.seconds:g} s")
        started = time.perf_counter()
        window = (started + args.warmup, started + args.warmup + args.seconds)

        async def user(browser: Browser, seat: Seat, rng: random.Random) -> None:
            path = f"/assess/{round_key}/{seat.slug}/answer"
            count = 0
            while time.perf_counter() < window[1]:
                key, na_allowed = rng.choice(seat.questions)
                value = rng.choice(levels + (["na"] if na_allowed else []))
                count += 1
                fields = {
                    "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                    "question": key,
                    "value": value,
                    "revision": str(seat.revisions.get(key, "")),
                    "not_applicable_reason": "Batch-only product: nothing is served online.",
                    "evidence": f"{seat.username} save {count}: checked in CI",
                    "evidence_url": "",
                }
                sent = time.perf_counter()
                try:
                    status, data = await browser.post(
                        path,
                        fields,
                        Accept="application/json",
                        **{"X-CSRFToken": browser.cookies["csrftoken"]},
                    )
                except (aiohttp.ClientError, TimeoutError) as error:
                    outcome = type(error).__name__
                else:
                    outcome = "ok" if status == 200 else str(status)
                done = time.perf_counter()
                if outcome == "ok":
                    seat.revisions[key] = data["revision"]
                    tally.acks.append(
                        Ack(seat.product_id, key, data["revision"], value, fields["evidence"])
                    )
                else:  # every failure counts, in the warm-up too
                    tally.errors[outcome] = tally.errors.get(outcome, 0) + 1
                if outcome == "ok" and window[0] <= sent and done <= window[1]:
                    tally.in_window += 1
                    tally.latencies.append((done - sent) * 1000)

        async def meter() -> None:
            """CPU used by the server, the database and this client during the window."""
            await asyncio.sleep(window[0] - time.perf_counter())
            at_start = processes(server_pid, args.database)
            before = cpu_times(at_start)
            await asyncio.sleep(window[1] - time.perf_counter())
            at_end = processes(server_pid, args.database)
            after = cpu_times(at_end)
            for kind, used in after.items():
                tally.cpu[kind] = sum(t - before[kind].get(pid, 0.0) for pid, t in used.items())
            # Persistent connections (CONN_MAX_AGE): the same backends all along.
            tally.backends = (set(at_start["postgresql"]), set(at_end["postgresql"]))

        rngs = [random.Random(args.seed * 1000 + index) for index in range(len(seats))]
        await asyncio.gather(
            meter(), *(user(b, s, r) for b, s, r in zip(browsers, seats, rngs, strict=True))
        )
    return tally


def lost_saves(survey_round, tally: Tally, since) -> tuple[int, int, int]:
    """Acknowledged saves missing from the database: the last one of each question must be
    the stored answer, and every one must have its history row. Returns (lost, history rows
    written since the start, answers checked)."""
    from apps.surveys.models import Answer

    answers = Answer.objects.filter(response__round=survey_round)
    current = {
        (product_id, key): (revision, "na" if na else value, evidence)
        for product_id, key, revision, value, na, evidence in answers.values_list(
            "response__product_id",
            "question__key",
            "revision",
            "value",
            "not_applicable",
            "evidence",
        )
    }
    history_rows = Answer.history.filter(
        response__round=survey_round, history_date__gte=since
    ).values_list("response__product_id", "question__key", "revision", "value", "not_applicable")
    history = {
        (product_id, key, revision, "na" if na else value)
        for product_id, key, revision, value, na in history_rows
    }
    last: dict[tuple[int, str], Ack] = {}
    lost = 0
    for ack in tally.acks:
        value = ack.value if ack.value == "na" else Decimal(ack.value)
        if (ack.product_id, ack.question, ack.revision, value) not in history:
            lost += 1
        key = (ack.product_id, ack.question)
        if key not in last or ack.revision > last[key].revision:
            last[key] = ack
    for key, ack in last.items():
        value = ack.value if ack.value == "na" else Decimal(ack.value)
        if current.get(key) != (ack.revision, value, ack.evidence):
            lost += 1
    return lost, len(history_rows), len(last)


def queries_per_save(survey_round, seat: Seat, levels) -> int:
    """Database queries of one autosave (an answer changed), counted in-process."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(
        HTTP_ACCEPT="application/json", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1"
    )
    client.force_login(get_user_model().objects.get(username=seat.username))
    key = seat.questions[0][0]
    path = f"/assess/{survey_round.key}/{seat.slug}/answer"
    fields = {"question": key, "value": levels[0], "revision": seat.revisions.get(key, "")}
    first = client.post(path, fields)
    assert first.status_code == 200, first.content
    fields = {"question": key, "value": levels[-1], "revision": first.json()["revision"]}
    with CaptureQueriesContext(connection) as queries:
        reply = client.post(path, fields)
    assert reply.status_code == 200, reply.content
    if os.environ.get("SHOW_QUERIES"):
        for query in queries:
            print("  ", query["sql"][:300])
    return len(queries)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> None:
    args = parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    env = server_environment(args)
    if not args.reuse_db:
        prepare_database(args, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.utils import timezone

    survey_round, levels, seats, not_started = prepare_users(args)
    products = len({seat.product_id for seat in seats})
    port = free_port()
    server = start_gunicorn(args, env, port)
    kind = f"{args.threads} threads (gthread)" if args.threads else "sync"
    print(
        f"gunicorn: {args.workers} workers, {kind}, 127.0.0.1:{port}; round {survey_round.key}: "
        f"{args.users} users on {products} products ({not_started} not started), "
        f"{args.per_product} teammates each answering different questions"
    )
    since = timezone.now()
    try:
        tally = asyncio.run(drive(args, seats, levels, survey_round.key, port, server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    lost, history_rows, checked = lost_saves(survey_round, tally, since)
    queries = queries_per_save(survey_round, seats[0], levels)
    errors = sum(tally.errors.values())
    latencies = tally.latencies or [0.0, 0.0]
    saves = max(tally.in_window, 1)
    cpu = {kind: used / saves * 1000 for kind, used in tally.cpu.items()}
    print(
        f"saves: {tally.in_window} in {args.seconds:g} s = {tally.in_window / args.seconds:.1f} "
        f"saves/s; latency p50 {percentile(latencies, 0.50):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms; "
        f"errors {errors} {tally.errors or ''}".rstrip()
    )
    print(
        f"lost: {lost} of {len(tally.acks)} acknowledged saves ({checked} answers checked, "
        f"{history_rows} history rows written); {queries} queries per save"
    )
    print(
        f"CPU per save: gunicorn {cpu['gunicorn']:.1f} ms, PostgreSQL {cpu['postgresql']:.1f} ms, "
        f"this client {cpu['client']:.1f} ms"
    )
    start, end = tally.backends
    print(
        f"PostgreSQL connections: {len(start)} at the start of the window, {len(end)} at its end, "
        f"{len(start & end)} the same (this script's own included)"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("target: >= 150 saves/s, p95 <= 300 ms, 0 errors, 0 lost")
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        run([*PSQL, "-c", f"DROP DATABASE IF EXISTS {args.database}"], env)


if __name__ == "__main__":
    main()
