"""The intake API: the intake pages (reporting/views/) for a mobile app or a messaging
channel.  Thin: parse, authorise, call one service, serialise.

No account, no session, no cookie.  Filing a report answers with her receipt code, once;
that code, sent as ``Authorization: Receipt 1234 5678 9012 3456``, is the only thing
that lets her add evidence or read her report's status.  Messages are in the language of
the request's Accept-Language (LocaleMiddleware: fr by default, ar, en).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from evidence.exceptions import UploadRefused
from evidence.uploads import Refusal, SealingUploadHandler
from reporting import services, throttle
from reporting.exceptions import IntakeUnavailable, ReceiptNotFound
from reporting.models import Report
from reporting.serializers import (
    ErrorSerializer,
    EvidenceAddedSerializer,
    EvidenceRefusedSerializer,
    EvidenceUploadSerializer,
    MyReportSerializer,
    NewReportSerializer,
    ReceiptSerializer,
)
from web.parsers import BoundedJSONParser
from web.schema import VALIDATION_ERRORS

RECEIPT_SCHEME = "Receipt"
FILES_REFUSED = _(
    "Some files could not be accepted. Nothing was kept; please choose your files again."
)
NO_FILE = _("Please choose at least one file.")
_MB = 1024 * 1024


class ReceiptRefused(APIException):
    # A custom class, not AuthenticationFailed: DRF turns that into a 403 on a view
    # without authentication classes.
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "receipt_refused"
    # The same answer for a mistyped, a guessed and an erased code: never say which.
    default_detail = _("No report opens with this receipt code. Check the 16 digits.")
    auth_header = RECEIPT_SCHEME


class ReceiptMissing(ReceiptRefused):
    default_code = "receipt_missing"
    default_detail = _("Please type the 16 digits of your receipt code.")


class IntakeClosed(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "intake_unavailable"
    default_detail = _(
        "No partner can receive reports at the moment. Nothing you wrote was kept. "
        "Please try again later."
    )


class ReceiptSchema(AutoSchema):
    """The receipt code as an OpenAPI security scheme.  A header parameter named
    Authorization would be ignored by OpenAPI tools, and these views have no
    authentication class for drf-spectacular to describe."""

    def get_auth(self):
        self.registry.register_on_missing(
            ResolvedComponent(
                name="receipt",
                type=ResolvedComponent.SECURITY_SCHEMA,
                object=ReceiptSchema,
                schema={
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Receipt ` and the 16 digits of the receipt code "
                    "given when the report was filed, e.g. "
                    "`Receipt 4821 0937 5526 1048` (spaces optional).",
                },
            )
        )
        return [{"receipt": []}]


ACCEPT_LANGUAGE = OpenApiParameter(
    "Accept-Language",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="fr (default), ar or en: the language of status texts and messages.",
)
# DRF's validation errors: {"narrative": ["..."], ...}, by index inside a list (web/schema.py).
FIELD_ERRORS = VALIDATION_ERRORS
UNAUTHORISED = OpenApiResponse(
    ErrorSerializer, description="No receipt code, or one that opens no report."
)


def _her_report(request: Request) -> Report:
    """The report whose receipt code came in the Authorization header."""
    scheme, _space, code = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != RECEIPT_SCHEME.lower() or not code.strip():
        raise ReceiptMissing
    if wait := throttle.receipt_wait(request._request, per_session=False):
        raise exceptions.Throttled(
            # str(): DRF joins the detail with its "expected in N seconds" as plain strings.
            wait=wait,
            detail=str(_("Too many codes were tried. Please wait, then try again.")),
        )
    try:
        reporter, _identity = services.open_receipt(code)
        return reporter.report
    except (ReceiptNotFound, Report.DoesNotExist):
        throttle.record_receipt_failure(request._request, per_session=False)
        raise ReceiptRefused from None


def _refusal_text(reason: str) -> str:
    if reason == "too_large":
        return _("larger than %(max_file_mb)s MB") % {
            "max_file_mb": settings.EVIDENCE_MAX_FILE_BYTES // _MB
        }
    if reason == "report_too_large":
        return _("all your files together are larger than %(max_report_mb)s MB") % {
            "max_report_mb": settings.EVIDENCE_MAX_REPORT_BYTES // _MB
        }
    texts = {
        "empty": _("the file is empty"),
        "interrupted": _("the upload was interrupted"),
        "image_too_large": _("this image is too large to be opened safely"),
    }
    return str(texts.get(reason, _("this kind of file is not accepted")))


def _refused(refusals: list[Refusal] | list[UploadRefused], message) -> Response:
    body = {
        "evidence": [message],
        "refusals": [
            {"name": r.name, "reason": r.reason, "message": _refusal_text(r.reason)}
            for r in refusals
        ],
    }
    return Response(EvidenceRefusedSerializer(body).data, status=status.HTTP_400_BAD_REQUEST)


class ReportCreate(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="reports_file",
        summary="File a report",
        description="Routing facts in plaintext, her words sealed on arrival to her and to "
        "the organisations that will help her. Under 18 makes the report urgent. The "
        "receipt code is in this answer only.",
        parameters=[ACCEPT_LANGUAGE],
        request=NewReportSerializer,
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(
                FIELD_ERRORS,
                description="Each field in error, named, with its messages; nothing was kept.",
            ),
            503: OpenApiResponse(
                ErrorSerializer, description="No organisation can receive reports yet."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if wait := throttle.filing_wait(request._request, per_session=False):
            raise exceptions.Throttled(
                wait=wait,
                detail=str(
                    _("Too many reports are arriving right now. Please wait, then try again.")
                ),
            )
        throttle.record_filing(request._request, per_session=False)
        answers = NewReportSerializer(data=request.data)
        answers.is_valid(raise_exception=True)
        report_facts = answers.report_facts()
        pending = services.new_receipt()
        try:
            recipients = services.recipients_for(report_facts, pending)
        except IntakeUnavailable:
            raise IntakeClosed from None
        report = services.file_report(
            report_facts, answers.report_content(), [], pending=pending, recipients=recipients
        )
        receipt = {
            "receipt_code": pending.display,
            "status": report.status,
            "status_text": report.get_status_display(),
        }
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


class EvidenceAdd(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]
    schema = ReceiptSchema()

    @extend_schema(
        operation_id="reports_evidence_add",
        summary="Add evidence to her report",
        description="Each file is sealed as it arrives, to everyone her report is sealed to. "
        "If any file is refused, none is kept.",
        parameters=[ACCEPT_LANGUAGE],
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={
            201: EvidenceAddedSerializer,
            400: OpenApiResponse(
                EvidenceRefusedSerializer,
                description="No file, or files refused (each named, with why); nothing kept.",
            ),
            401: UNAUTHORISED,
        },
    )
    def post(self, request: Request) -> Response:
        report = _her_report(request)
        # The body must be read by the sealing handler alone, so that no plaintext byte
        # reaches a temporary file.  DRF's MultiPartParser takes its handlers from
        # request.upload_handlers, which DRF's Request passes through to the Django
        # request; nothing has read the body yet (APIView is csrf_exempt and no
        # authentication class runs).  Had anything parsed it, Django's setter raises
        # rather than let the default handlers' result through.
        handler = SealingUploadHandler(
            request._request, recipients=services.report_recipients(report)
        )
        request._request.upload_handlers = [handler]
        try:
            request.data  # noqa: B018  (parses the body, sealing each file as it arrives)
            if handler.refusals:
                handler.discard_all()
                return _refused(handler.refusals, FILES_REFUSED)
            if not handler.accepted:
                return _refused([], NO_FILE)
            items = services.add_evidence(report, handler.accepted)
        except UploadRefused as refused:
            handler.discard_all()
            return _refused([refused], FILES_REFUSED)
        except BaseException as failure:
            handler.discard_all(failure=failure)
            raise
        added = {"count": len(items), "items": [{"kind": i.kind, "size": i.size} for i in items]}
        return Response(EvidenceAddedSerializer(added).data, status=status.HTTP_201_CREATED)


class MyReport(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    schema = ReceiptSchema()

    @extend_schema(
        operation_id="reports_mine",
        summary="Her report's status",
        description="The status, when it was filed (to the hour) and how many evidence "
        "files it holds. Never its content.",
        parameters=[ACCEPT_LANGUAGE],
        responses={200: MyReportSerializer, 401: UNAUTHORISED},
    )
    def get(self, request: Request) -> Response:
        return Response(MyReportSerializer(_her_report(request)).data)
