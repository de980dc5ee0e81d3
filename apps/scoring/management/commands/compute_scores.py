from django.core.management.base import BaseCommand, CommandError

from apps.scoring import jobs
from apps.scoring.models import ScoringJob
from apps.surveys.models import SurveyRound


class Command(BaseCommand):
    help = "Compute scores and aggregates for one round or for everything."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--round", dest="round_key", help="round key, e.g. 2021-10")
        target.add_argument("--all", action="store_true", help="every round that has opened")
        parser.add_argument(
            "--sync", action="store_true", help="run here and now instead of on a worker"
        )

    def handle(self, *args, round_key, all, sync, **options):
        round_id = None
        if round_key:
            round_id = (
                SurveyRound.objects.filter(key=round_key).values_list("pk", flat=True).first()
            )
            if round_id is None:
                raise CommandError(f"No round {round_key!r}.")
        kind = ScoringJob.Kind.ROUND if round_id else ScoringJob.Kind.ALL
        job = ScoringJob.objects.create(kind=kind, round_id=round_id)
        if not sync:
            jobs.enqueue(job.pk)
            job.refresh_from_db()
            if job.state == ScoringJob.State.QUEUED:
                self.stdout.write(f"Queued scoring job {job.pk} ({job.kind}).")
                return
            # Without a broker the job has already run here (the embedded default).
        else:
            job = jobs.run_job(job_id=job.pk)
        if job.state == ScoringJob.State.FAILED:
            raise CommandError(f"Scoring job {job.pk} failed: {job.error}")
        summary = ", ".join(f"{key} {value}" for key, value in job.summary.items())
        seconds = (job.finished_at - job.started_at).total_seconds()
        self.stdout.write(f"Scoring job {job.pk} done in {seconds:.2f} s: {summary}.")
