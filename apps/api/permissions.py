from rest_framework.permissions import DjangoModelPermissions


class ReadOrAdminWrite(DjangoModelPermissions):
    """Every signed-in user reads; a write needs the same model permission as in the admin site
    (add, change or delete), which the administrators group holds and superusers always have."""


class ModelChangePermission(DjangoModelPermissions):
    """Any method needs the model's change permission (state transitions posted to an
    object: opening, closing or reopening a round changes it, it adds nothing)."""

    perms_map = {
        method: ["%(app_label)s.change_%(model_name)s"]
        for method in ("GET", "OPTIONS", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    }
