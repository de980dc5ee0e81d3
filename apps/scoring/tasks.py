from celery import shared_task

from apps.scoring import jobs


@shared_task
def run_scoring_job(job_id: int) -> None:
    """Run a scoring job (a response on submit, a round on close or on demand, or all)."""
    jobs.run_job(job_id=job_id)


@shared_task
def restart_stale_scoring_jobs() -> list[int]:
    """Periodic sweep: restart jobs lost with a killed worker or a broker outage."""
    return jobs.restart_stale_jobs()
