"""Server time of /dashboard/ (with the cohort from each start round: ?cohort_from=KEY, as
scored and like-for-like: ?like_for_like=1), of a closed and the open round's page, of a
product's page (one scored in every round) and of the product catalogue (all products, then
searches
in Latin letters and in Japanese, as a viewer; a member's) on the seeded benchmark database
(benchmarks/seed_demo.sh).

.venv/bin/python benchmarks/dashboard.py      # DATABASE_URL (environment) overrides the
                                              # default, maturity_bench
"""

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/maturity_bench")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from apps.rubrics.models import Rubric  # noqa: E402
from apps.scoring import cohort  # noqa: E402
from apps.scoring.models import ResponseScore  # noqa: E402
from apps.surveys.models import Answer, SurveyRound  # noqa: E402

REPEAT = 30
COLD = 10


def timed(client: Client, path: str) -> tuple[float, float]:
    """Milliseconds to serve the page (which must be a 200): wall time and this process's CPU."""
    started, used = time.perf_counter(), time.process_time()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed, (time.process_time() - used) * 1000


def cohort_from_each_start(client: Client) -> None:
    """/dashboard/?cohort_from=KEY for every start round of the rubric: cold (the figures
    rebuilt from the aggregates) and warm (cached) medians."""
    rubric = Rubric.objects.get(slug="mlopsscore")
    starts = cohort.start_rounds(rubric.pk)
    paths = [f"/dashboard/?cohort_from={start.key}" for start in starts]
    # like-for-like (the questions common to every version), from each start round too
    paths += [f"/dashboard/?like_for_like=1&cohort_from={start.key}" for start in starts]
    for path in paths:
        cold, cold_cpu = [], []
        for _ in range(COLD):
            cache.clear()
            elapsed, cpu = timed(client, path)
            cold.append(elapsed)
            cold_cpu.append(cpu)
        warm, warm_cpu = zip(*(timed(client, path) for _ in range(REPEAT)), strict=True)
        print(
            f"{path}: cold median {statistics.median(cold):.1f} ms (target <= 300, this "
            f"process's CPU {statistics.median(cold_cpu):.1f} ms), "
            f"warm median {statistics.median(warm):.1f} ms (target <= 50, CPU "
            f"{statistics.median(warm_cpu):.1f} ms)"
        )


def machine_speed() -> str:
    """The median time of a fixed pure-Python workload (two million additions): the same code
    each run, so it tells how fast this machine is right now. A shared machine has slow
    phases that no load average shows (seen here: 180 to 370 ms within an hour), and every
    page's time grows with it, its CPU time too."""
    timings = []
    for _ in range(5):
        started, total = time.perf_counter(), 0
        for i in range(2_000_000):
            total += i
        timings.append((time.perf_counter() - started) * 1000)
    return f"machine speed: {statistics.median(timings):.0f} ms for the reference workload"


def main() -> None:
    setup_test_environment()
    # On a machine shared with other work the wall times grow with its load; the CPU time
    # of this process (Django's share of each request, without PostgreSQL's) much less.
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    print(machine_speed())
    client = Client()
    client.force_login(get_user_model().objects.get(username="demo-viewer"))
    print(
        f"database: {connection.settings_dict['NAME']}, {Answer.objects.count():,} answers, "
        f"{ResponseScore.objects.count():,} scored responses"
    )
    cold, cold_cpu = [], []
    for _ in range(COLD):  # figures rebuilt from the aggregates (after scores change)
        cache.clear()
        elapsed, cpu = timed(client, "/dashboard/")
        cold.append(elapsed)
        cold_cpu.append(cpu)
    print(
        f"/dashboard/ with an empty cache: median {statistics.median(cold):.1f} ms (target <= "
        f"300, this process's CPU {statistics.median(cold_cpu):.1f} ms)"
    )
    cohort_from_each_start(client)
    closed, latest = (
        SurveyRound.objects.order_by("-opens_at")[1:2].get(),
        SurveyRound.objects.order_by("-opens_at").first(),
    )
    # A product scored in the most rounds: the longest history and an answers' diff.
    product = (
        ResponseScore.objects.values("product__slug")
        .annotate(rounds=Count("round"))
        .order_by("-rounds", "product__slug")
        .first()
    )
    member = Client()
    member.force_login(get_user_model().objects.get(username="demo-member"))
    pages = [
        (client, "/dashboard/"),
        (client, "/dashboard/?like_for_like=1"),
        (member, "/dashboard/?like_for_like=1"),
        (client, f"/rounds/{closed.key}/"),
        (client, f"/rounds/{latest.key}/"),
        (client, f"/products/{product['product__slug']}/"),
        (client, "/products/"),
        (client, "/products/?q=forecast"),
        (client, "/products/?q=" + quote("需要予測")),
        (client, "/products/?q=zzz-nothing"),
        (client, "/products/?q=ranker&page=3"),
        (member, "/products/"),
    ]
    for user, path in pages:
        user.get(path)  # warm up
        timings, cpu = [], []
        for _ in range(REPEAT):
            started, used = time.perf_counter(), time.process_time()
            response = user.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            user.get(path)
        who = "member " if user is member else ""
        print(
            f"{who}{unquote(path)}: median {statistics.median(timings):.1f} ms, p90 "
            f"{statistics.quantiles(timings, n=10)[-1]:.1f} ms over {REPEAT} requests "
            f"(this process's CPU: median {statistics.median(cpu):.1f} ms), "
            f"{len(queries)} queries" + " (target: median <= 50 ms)"
        )
    print(machine_speed() + " (at the end)")


if __name__ == "__main__":
    main()
