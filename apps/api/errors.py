"""How the API reports errors: JSON bodies with a `detail`, 400 for bad input, 409 for deletes."""

from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response as ApiResponse

from apps.api.renderers import CSVRenderer


def error_response(detail: str, **extra) -> ApiResponse:
    """A 400 response with `detail` and any `extra` fields (e.g. the problems found)."""
    return ApiResponse({"detail": detail, **extra}, status=status.HTTP_400_BAD_REQUEST)


class JSONErrors:
    """Errors are JSON even when the client asked for CSV."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if getattr(self.request, "accepted_renderer", None) and isinstance(
            self.request.accepted_renderer, CSVRenderer
        ):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response


class BadRequest(APIException):
    """Bad input found by a view (raised, so JSONErrors answers in JSON even to a CSV
    request)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."


class InUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Still in use: other records refer to it."


class ProtectedDelete:
    """Deleting something still referred to is a 409 with a reason, not a server error."""

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as error:
            count = len(error.protected_objects)
            raise InUse(f"{instance} is still used by {count} record(s).") from None


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 (handler404): JSON under /api/ (a URL no route matches, such as a slug
    with a dot), as every other API answer; the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
