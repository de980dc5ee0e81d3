"""The reminder log: each mail sent (or tried) to one person about a round, and each product
it reminded them of. The database holds the same-day rule: a person is reminded of a product
in a round at most once a day, whatever sent it; a mail that failed does not count."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReminderMail(models.Model):
    """One e-mail to one person about a round's products they have not submitted yet."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        SCHEDULED = "scheduled", _("Scheduled")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Delivered")
        FAILED = "failed", _("Not delivered")

    round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="reminder_mails"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reminder_mails",
        verbose_name=_("recipient"),
    )
    address = models.EmailField(_("address"), blank=True)  # as it was when sent
    language = models.CharField(_("language"), max_length=10)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("triggered by"),
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SENDING
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reminder mail")
        verbose_name_plural = _("reminder mails")
        indexes = [models.Index(fields=["round", "-created_at"], name="remindermail_round_when")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["invitation", "scheduled", "manual"]),
                name="remindermail_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["sending", "sent", "failed"]),
                name="remindermail_status_valid",
            ),
            # An error is what a failed mail records, and only a failed one.
            models.CheckConstraint(
                condition=Q(status="failed", error__gt="") | (~Q(status="failed") & Q(error="")),
                name="remindermail_error_iff_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} → {self.recipient_id} {self.created_at:%Y-%m-%d %H:%M}"


class Reminder(models.Model):
    """A person reminded of a product in a round on a day (the organisation's date), by a mail.
    The round and the person are the mail's, copied so the database can hold the same-day
    rule; `failed` is set with the mail's failure, so the next run may try again."""

    mail = models.ForeignKey(ReminderMail, on_delete=models.CASCADE, related_name="reminders")
    round = models.ForeignKey("surveys.SurveyRound", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(
        "products.Product",
        on_delete=models.CASCADE,
        related_name="reminders",
        verbose_name=_("product"),
    )
    day = models.DateField(_("day"))
    failed = models.BooleanField(_("failed"), default=False)

    class Meta:
        ordering = ["mail", "product__name"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "product", "user", "day"],
                condition=Q(failed=False),
                name="reminder_once_a_day",
                violation_error_message=_("This person was reminded of this product today."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} → {self.user_id} on {self.day}"
