"""OpenAPI generation: every operation documents its errors, not only its success."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from apps.api.serializers import ErrorSerializer

COMMON_ERRORS = {
    "401": "Not signed in (send a session cookie or `Authorization: Token …`)",
    "403": "Signed in, but not allowed to do this",
    "404": "No such object, or not visible to this user",
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        errors = dict(COMMON_ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors["400"] = "Invalid input; nothing was changed"
        else:
            # Any request may be refused as bad input: a NUL character anywhere
            # (config/middleware.py), an unknown parameter value (the trends' cohort_from).
            errors["400"] = "Invalid input"
        if self.method == "DELETE":
            errors["409"] = "Still in use by other records; nothing was deleted"
        for code, description in errors.items():
            if code not in bodies:
                body = self._get_response_for_code(ErrorSerializer, code)
                body["description"] = description
                bodies[code] = body
        return bodies
