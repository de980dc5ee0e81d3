from rest_framework.permissions import DjangoModelPermissions


class ReadOrAdminWrite(DjangoModelPermissions):
    """Every signed-in user reads; a write needs the same model permission as in the admin site
    (add, change or delete), which the administrators group holds and superusers always have."""
