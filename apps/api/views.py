"""REST API views: thin wrappers over selectors and services, with the UI's permissions."""

from collections.abc import Iterator

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response as ApiResponse

from apps.accounts.models import Team
from apps.accounts.roles import can_answer_for
from apps.api import serializers as s
from apps.api.errors import BadRequest, JSONErrors, ProtectedDelete, error_response
from apps.api.filters import ProductFilter, ResponseFilter
from apps.api.permissions import ModelChangePermission, ReadOrAdminWrite
from apps.api.renderers import CSVRenderer
from apps.exchange.exports import download, result_csv, result_rows, stream, trend_rows
from apps.products.models import Product
from apps.products.selectors import visible_product_ids
from apps.rubrics.models import (
    Area,
    Criterion,
    PublishedVersionError,
    Question,
    Rubric,
    RubricVersion,
)
from apps.rubrics.rubric_file import RubricFileError, parse_rubric_document
from apps.rubrics.services import RubricContentError, load_rubric
from apps.scoring import cohort, disclosure
from apps.scoring.closing import ConfirmationNeeded, close_with_impact
from apps.surveys import rounds, services
from apps.surveys.models import Response, SurveyRound

TREND_CHURN_FIELDS = ("joined", "stayed", "left_retired", "left_skipped")

# Any path segment reaches the view, which answers a JSON 404 for an unknown one (the router's
# default stops at a dot, and Django's HTML 404 page is not what an API client expects; round
# keys may hold dots).
LOOKUP = "[^/]+"

# The JSON form of the CSV downloads: these columns as they are, the area columns under "areas".
TREND_FIELDS = (
    "round",
    "population",
    "n",
    "overall_mean",
    "overall_median",
    "overall_p25",
    "overall_p75",
    "provisional",
    "cohort_from",
    "churn_previous",
    *TREND_CHURN_FIELDS,  # gathered under "churn"
    "like_for_like",
    "questions_compared",
    "left_out",
)
RESULT_FIELDS = ("product", "product_name", "team", "status", "submitted_at", "overall", "band")


def _csv_records(
    rows: Iterator[list], fields: tuple[str, ...], groups: tuple[tuple[str, str], ...] = ()
) -> list[dict]:
    """The rows of a CSV download (header first) as JSON records: `fields` by name, and for
    each (name, suffix) of `groups` (default: ("areas", "")), each
    ``area_<key><suffix>`` column under that name, by the area's key."""
    header = next(rows)
    columns = {
        name: {
            column: column.removeprefix("area_").removesuffix(suffix)
            for column in header
            if column.startswith("area_") and column.endswith(suffix)
        }
        for name, suffix in groups or (("areas", ""),)
    }
    records = []
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        records.append(
            {
                **{field: cells[field] for field in fields},
                **{
                    name: {key: cells[column] for column, key in found.items()}
                    for name, found in columns.items()
                },
            }
        )
    return records


class TeamViewSet(ProtectedDelete, viewsets.ModelViewSet):
    queryset = Team.objects.order_by("slug")
    serializer_class = s.TeamSerializer
    permission_classes = [ReadOrAdminWrite]
    lookup_field = "slug"
    lookup_value_regex = LOOKUP


class ProductViewSet(ProtectedDelete, viewsets.ModelViewSet):
    queryset = (
        Product.objects.select_related("team").prefetch_related("characteristics").order_by("slug")
    )
    serializer_class = s.ProductSerializer
    permission_classes = [ReadOrAdminWrite]
    lookup_field = "slug"
    lookup_value_regex = LOOKUP
    filterset_class = ProductFilter


class RubricViewSet(JSONErrors, viewsets.ReadOnlyModelViewSet):
    queryset = Rubric.objects.prefetch_related("versions").order_by("slug")
    serializer_class = s.RubricSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "slug"
    lookup_value_regex = LOOKUP

    @extend_schema(
        responses={
            (200, "application/json"): s.TrendSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
        parameters=[
            OpenApiParameter("format", str, enum=["json", "csv"], required=False),
            OpenApiParameter(
                "cohort_from",
                str,
                required=False,
                description="Key of the round the cohort starts from (default: the first).",
            ),
            OpenApiParameter(
                "like_for_like",
                str,
                enum=["0", "1"],
                required=False,
                description="1: every round scored on the questions common to all versions "
                "of the rubric (stored like-for-like aggregates); 0 or absent: as scored.",
            ),
        ],
    )
    @action(detail=True, renderer_classes=[JSONRenderer, BrowsableAPIRenderer, CSVRenderer])
    def trends(self, request, slug=None):
        """Per round and population (all, the cohort from `cohort_from`): n, mean, median,
        quartiles, area means, churn (all products) and N/A shares per area. A point resting
        on a few products outside your teams is hidden (blank)."""
        rubric = self.get_object()
        like_for_like = {"": False, "0": False, "1": True}.get(
            request.query_params.get("like_for_like", "")
        )
        if like_for_like is None:
            raise BadRequest("like_for_like must be 1 (on) or 0 (off).")
        key = request.query_params.get("cohort_from", "")
        starts = cohort.start_rounds(rubric.pk)
        start = next((r for r in starts if r.key == key), None) if key else None
        if key and start is None:
            raise BadRequest("No cohort of this rubric starts from that round.")
        start = start or (starts[0] if starts else None)
        hidden = disclosure.hidden_stored_points(
            rubric.pk,
            visible_product_ids(request.user),
            [r.pk for r in starts],
            start.pk if start else None,
            like_for_like=like_for_like,
        )
        rows = trend_rows(rubric.pk, hidden=hidden, cohort_from=start, like_for_like=like_for_like)
        if request.accepted_renderer.format == "csv":
            return download(stream(rows, bom=True), f"{slug}-trends.csv")
        data = _csv_records(
            rows, TREND_FIELDS, groups=(("areas", "_mean"), ("not_applicable", "_na_share"))
        )
        for record in data:
            record["provisional"] = record["provisional"] == "true"
            record["like_for_like"] = record["like_for_like"] == "true"
            compared = record["questions_compared"]
            record["questions_compared"] = None if compared == "" else int(compared)
            record["hidden"] = (record["round"], record["population"]) in hidden
            if record["hidden"]:
                record["n"] = None
            counts = {field: record.pop(field) for field in TREND_CHURN_FIELDS}
            record["churn"] = {
                field: None if value == "" else int(value) for field, value in counts.items()
            }
        return ApiResponse(data)


class RubricVersionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ReadOrAdminWrite]
    filterset_fields = ["state"]

    def get_queryset(self):
        versions = RubricVersion.objects.select_related("rubric").order_by("rubric__slug", "id")
        if self.action == "retrieve":
            questions = Question.objects.order_by("order").prefetch_related(
                Prefetch(
                    "criteria", Criterion.objects.select_related("level").order_by("level__order")
                )
            )
            versions = versions.prefetch_related(
                "levels",
                Prefetch(
                    "areas",
                    Area.objects.order_by("order").prefetch_related(
                        Prefetch("questions", questions)
                    ),
                ),
            )
        return versions

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.RubricVersionDetailSerializer
        if self.action == "create":
            return s.RubricVersionLoadSerializer
        return s.RubricVersionSerializer

    @extend_schema(
        request=s.RubricVersionLoadSerializer,
        responses={201: s.RubricVersionSerializer, 200: s.RubricVersionSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Load a rubric document (the rubric file format as JSON); same rules as load_rubric."""
        payload = s.RubricVersionLoadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if payload.validated_data["publish"] and not request.user.has_perm(
            "rubrics.change_rubricversion"
        ):  # as in the admin site: publishing is a change of the version
            raise PermissionDenied("Publishing a rubric version needs the change permission.")
        try:
            spec = parse_rubric_document(payload.validated_data["document"])
            result = load_rubric(spec=spec, publish=payload.validated_data["publish"])
        except RubricFileError as error:
            return error_response("The rubric document is not valid.", problems=error.problems)
        except (PublishedVersionError, RubricContentError) as error:
            return error_response(str(error))
        code = status.HTTP_200_OK if result.outcome == "unchanged" else status.HTTP_201_CREATED
        return ApiResponse(s.RubricVersionSerializer(result.version).data, status=code)


class SurveyRoundViewSet(
    JSONErrors,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = SurveyRound.objects.select_related("rubric_version__rubric").order_by("opens_at")
    serializer_class = s.SurveyRoundSerializer
    permission_classes = [ReadOrAdminWrite]
    lookup_field = "key"
    lookup_value_regex = LOOKUP
    filterset_fields = ["state"]

    @extend_schema(request=s.SurveyRoundCreateSerializer, responses={201: s.SurveyRoundSerializer})
    def create(self, request, *args, **kwargs):
        payload = s.SurveyRoundCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            survey_round = rounds.create_round(
                key=data["key"],
                rubric_slug=data["rubric"],
                version_label=data["rubric_version"],
                title=data["title"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                state=data["state"],
            )
        except rounds.RoundError as error:
            return error_response(str(error))
        return ApiResponse(s.SurveyRoundSerializer(survey_round).data, status=201)

    def _transition(self, request, payload_class, transition):
        """Validate the payload, run the round's transition, reply with the round."""
        payload = payload_class(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            survey_round = transition(self.get_object(), payload.validated_data)
        except rounds.RoundError as error:
            return error_response(str(error))
        return ApiResponse(s.SurveyRoundSerializer(survey_round).data)

    @extend_schema(request=s.RoundOpenSerializer, responses={200: s.SurveyRoundSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ModelChangePermission])
    def open(self, request, key=None):
        """Open a planned round (one open round per rubric)."""
        return self._transition(
            request,
            s.RoundOpenSerializer,
            lambda r, data: rounds.open_round(survey_round=r, user=request.user, **data),
        )

    @extend_schema(
        request=s.RoundCloseSerializer,
        responses={200: s.SurveyRoundSerializer, 409: s.CloseImpactSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[ModelChangePermission])
    def close(self, request, key=None):
        """Close an open round and queue its recompute. A close whose impact needs a
        confirmation (no scored response, a shrinking cohort) is refused with 409 and the
        impact unless `confirm` is true."""
        payload = s.RoundCloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            survey_round, _impact = close_with_impact(
                survey_round=self.get_object(),
                user=request.user,
                confirmed=payload.validated_data["confirm"],
                reason=payload.validated_data["reason"],
            )
        except ConfirmationNeeded as refused:
            body = {"detail": str(refused), **s.CloseImpactSerializer(refused.impact).data}
            return ApiResponse(body, status=409)
        except rounds.RoundError as error:
            return error_response(str(error))
        return ApiResponse(s.SurveyRoundSerializer(survey_round).data)

    @extend_schema(request=s.RoundReopenSerializer, responses={200: s.SurveyRoundSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ModelChangePermission])
    def reopen(self, request, key=None):
        """Open a closed round again, with a reason (and a new deadline if it passed)."""
        return self._transition(
            request,
            s.RoundReopenSerializer,
            lambda r, data: rounds.reopen_round(survey_round=r, user=request.user, **data),
        )

    @extend_schema(request=s.RoundDeadlineSerializer, responses={200: s.SurveyRoundSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ModelChangePermission])
    def deadline(self, request, key=None):
        """Move the deadline of a planned or open round."""
        return self._transition(
            request,
            s.RoundDeadlineSerializer,
            lambda r, data: rounds.extend_deadline(survey_round=r, user=request.user, **data),
        )

    @extend_schema(
        responses={
            (200, "application/json"): s.ResultSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"], required=False)],
    )
    @action(detail=True, renderer_classes=[JSONRenderer, BrowsableAPIRenderer, CSVRenderer])
    def results(self, request, key=None):
        """One row per product of the round (the rows this user may see), from stored scores."""
        survey_round, products = self.get_object(), visible_product_ids(request.user)
        if request.accepted_renderer.format == "csv":
            chunks = result_csv(survey_round, products=products, bom=True)
            return download(chunks, f"{key}-results.csv")
        data = _csv_records(result_rows(survey_round, products=products), RESULT_FIELDS)
        return ApiResponse(data)


class ResponseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Responses this user may see: all for viewers and administrators, else their teams'."""

    serializer_class = s.ResponseSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = ResponseFilter

    def get_queryset(self):
        responses = Response.objects.select_related("round", "product__team", "submitted_by")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return responses.none()
        visible = visible_product_ids(self.request.user)
        if visible is not None:
            responses = responses.filter(product__in=visible)
        return responses.order_by("id")

    def _editable(self, response: Response) -> Response:
        if not can_answer_for(self.request.user, response.product):
            raise PermissionDenied("Only the product's team members may change its response.")
        return response

    @extend_schema(
        request=s.ResponseCreateSerializer,
        responses={201: s.ResponseSerializer, 200: s.ResponseSerializer},
    )
    def create(self, request):
        """Start (or get) the draft response of one of your products in an open round."""
        payload = s.ResponseCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        survey_round = SurveyRound.objects.filter(key=payload.validated_data["round"]).first()
        product = Product.objects.filter(slug=payload.validated_data["product"]).first()
        if survey_round is None or product is None:
            raise NotFound("No such round or product.")
        if not can_answer_for(request.user, product):
            raise PermissionDenied("Only the product's team members may answer for it.")
        try:
            response = services.start_response(survey_round=survey_round, product=product)
        except services.AnswerError as error:
            return error_response(str(error), field=error.field)
        return ApiResponse(s.ResponseSerializer(response).data, status=201)

    @extend_schema(
        request=None,
        responses={200: s.ResponseSerializer, 400: s.ErrorSerializer, 412: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "If-Match",
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="The ETag of the answers you checked (GET …/answers/): the "
                "submit is refused with 412 if they changed since.",
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Submit a complete response; lists the unanswered questions and the carried-over
        answers not confirmed yet otherwise. With If-Match (the answers' ETag), only if the
        answers are still those."""
        response = self._editable(self.get_object())
        expected = request.headers.get("If-Match", "").removeprefix("W/").strip('"')
        try:
            response = services.submit_response(
                response=response, user=request.user, reviewed=expected or None
            )
        except services.SubmitError as error:
            if error.stale:
                return ApiResponse(
                    {"detail": str(error)}, status=status.HTTP_412_PRECONDITION_FAILED
                )
            return error_response(
                str(error), unanswered=error.unanswered, unconfirmed=error.unconfirmed
            )
        return ApiResponse(s.ResponseSerializer(response).data)

    @extend_schema(
        request=s.ConfirmAreaSerializer,
        responses={200: s.ConfirmedSerializer, 400: s.ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Confirm every carried-over answer of one area as it stands ("Confirm all in this
        area"). Saving an answer (POST …/answers/) confirms that one answer."""
        response = self._editable(self.get_object())
        payload = s.ConfirmAreaSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        area = payload.validated_data["area"]
        try:
            confirmed = services.confirm_carried_over(
                response=response, area=area, user=request.user
            )
        except services.AnswerError as error:
            return error_response(str(error), field=error.field)
        return ApiResponse({"area": area, "confirmed": confirmed})

    @extend_schema(methods=["get"], responses={200: s.AnswerSerializer(many=True)})
    @extend_schema(
        methods=["post"],
        request=s.AnswerWriteSerializer,
        responses={200: s.AnswerSerializer, 409: s.ConflictSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def answers(self, request, pk=None):
        """GET: the response's answers. POST: save one answer (send the revision you started
        from to change an existing one; 409 with the current answer if someone saved first).
        A save confirms a carried-over answer; N/A needs a not_applicable_reason."""
        response = self.get_object()
        if request.method == "GET":
            answers = list(
                response.answers.select_related("question__area", "updated_by", "carried_over_from")
            )
            reply = ApiResponse(s.AnswerSerializer(answers, many=True).data)
            # What a submit's If-Match checks: the same fingerprint as the review page's.
            reply["ETag"] = f'"{services.review_token(answers)}"'
            return reply
        self._editable(response)
        payload = s.AnswerWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            answer = services.save_answer(
                response=response,
                question_key=data["question"],
                value=data.get("value"),
                not_applicable=data["not_applicable"],
                not_applicable_reason=data["not_applicable_reason"],
                evidence=data["evidence"],
                evidence_url=data["evidence_url"],
                base_revision=data.get("revision"),
                user=request.user,
            )
        except services.AnswerConflict as conflict:
            return ApiResponse(
                {"detail": str(conflict), "current": s.AnswerSerializer(conflict.current).data},
                status=status.HTTP_409_CONFLICT,
            )
        except services.AnswerError as error:
            return error_response(str(error), field=error.field)
        return ApiResponse(s.AnswerSerializer(answer).data)
