"""Who may see what. Viewers (the MLOps team) and administrators see everything; a team member
sees the products of their own teams.

Roles are groups, so an operator gives a role in the admin site: the viewers group reads
everything; the administrators group also holds the model permissions to manage teams,
products, rubrics and rounds and to reopen responses (granted by a data migration). Writes are
checked against those permissions, which superusers hold implicitly."""

from apps.accounts.models import ADMINS_GROUP, VIEWERS_GROUP

REOPEN_PERMISSION = "surveys.reopen_response"


def _role_groups(user) -> set[str]:
    if not hasattr(user, "_role_groups"):  # asked several times per request
        user._role_groups = set(
            user.groups.filter(name__in=[VIEWERS_GROUP, ADMINS_GROUP]).values_list(
                "name", flat=True
            )
        )
    return user._role_groups


def sees_everything(user) -> bool:
    """Administrators, staff and members of the viewers group read every product's data."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return bool(_role_groups(user))


def can_answer_for(user, product) -> bool:
    """Members of the product's team (and superusers) fill in its survey; viewers and
    administrators do not."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or product.team.members.filter(pk=user.pk).exists()


def can_reopen(user) -> bool:
    """Administrators (anyone granted the reopen permission) reopen submitted responses."""
    return user.is_authenticated and user.has_perm(REOPEN_PERMISSION)


REMIND_PERMISSION = "surveys.change_surveyround"


def can_remind(user) -> bool:
    """Administrators who may change rounds (open, close) also send their reminders."""
    return user.is_authenticated and user.has_perm(REMIND_PERMISSION)
