from django.conf import settings
from django.core.validators import validate_slug
from django.db import models
from django.utils.translation import gettext_lazy as _

# Members of this group are the MLOps promotion team: they read everything and edit nothing.
VIEWERS_GROUP = "MLOps viewers"
# Members of this group administer the assessments: teams, products, rubrics and rounds, and
# reopening submitted responses (its permissions come from migration accounts 0002). They need
# is_staff as well to use the admin site.
ADMINS_GROUP = "MLOps admins"


class Team(models.Model):
    """An org unit that owns ML products; its members answer their products' surveys."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True, validators=[validate_slug])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True, verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Preference(models.Model):
    """A person's choices that outlive their session: the language of the mails sent to them
    (set when they switch the site's language while signed in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(_("language"), max_length=10, default=settings.LANGUAGE_CODE)

    class Meta:
        verbose_name = _("preference")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"
