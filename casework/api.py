"""The caseworkers' API: the queue and case pages (casework/views/cases.py) for an app.
Thin: parse, find the case through the selectors (404 for anyone else's), call one
service, serialise.

Authentication is the staff session, and nothing else: she signs in on the staff pages
(password, which opens her key into the split-key session, then the second factor), and
the API answers to the session cookie and the ``member_key`` cookie together.  As with
any session, every unsafe method needs the CSRF token (the ``X-CSRFToken`` header, with
the value of the ``csrftoken`` cookie, or the token of any staff page's form).  Messages
are in the language of the request's Accept-Language (fr by default, ar, en).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.paginator import EmptyPage
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors, services, states
from casework.auth import member_key
from casework.downloads import original_response, working_copy_response
from casework.exceptions import (
    CaseErased,
    KeyLocked,
    NotAllowed,
    OutcomeMissing,
    TransitionRefused,
)
from casework.models import Case, User
from casework.serializers import (
    AssignSerializer,
    CaseFileSerializer,
    CaseSerializer,
    DownloadSerializer,
    MessageSerializer,
    NoteSerializer,
    NoteTextSerializer,
    OpenedCase,
    QueueQuerySerializer,
    QueueSerializer,
    ReplyTextSerializer,
    StatusChangeSerializer,
    TagsSerializer,
)
from evidence.exceptions import CannotOpen
from evidence.models import EvidenceItem
from reporting.serializers import ErrorSerializer
from web.schema import VALIDATION_ERRORS

SECOND_FACTOR = _("Enter the code from your authenticator app on the sign-in page first.")
NEW_PASSWORD = _("Choose your own password on the staff pages first.")
NO_ORGANISATION = _("You are not a member of any organisation yet.")
OUTCOME_MISSING = _("Choose why the case is closed.")


class StaffOnly(BasePermission):
    """Signed in, second factor passed, own password chosen: what staff_required asks
    of the pages, answered with 403 and what is missing instead of a redirect."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False  # DRF answers NotAuthenticated (403: sessions have no challenge)
        if not user.is_verified():
            raise exceptions.PermissionDenied(SECOND_FACTOR, code="second_factor_missing")
        if user.must_change_password:
            raise exceptions.PermissionDenied(NEW_PASSWORD, code="password_change_required")
        return True


class KeyLockedConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "key_locked"
    default_detail = _(
        "Your key is locked (the browser was closed or the session is old). Sign out and "
        "sign in again to read the case."
    )


class WaitingForAccess(KeyLockedConflict):
    default_code = "waiting_for_access"
    default_detail = _(
        "You are waiting for access to this organisation's key: what she wrote stays sealed "
        "to you. Your organisation's admin can give you access."
    )


class MoveRefused(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "transition_refused"


class RoleForbids(exceptions.PermissionDenied):
    default_code = "role_forbids"
    default_detail = _(
        "Your role does not allow this. Ask your triage lead or your organisation's admin."
    )


class NotShared(KeyLockedConflict):
    default_code = "not_shared"
    default_detail = _(
        "Her report was not shared with your organisation's key, so what she wrote stays "
        "sealed to you."
    )


class Erased(exceptions.APIException):
    status_code = 410
    default_code = "erased"
    default_detail = _(
        "This case was erased under the retention policy: what she wrote and sent can no "
        "longer be opened."
    )


def _key_refusal(case: Case, user: User) -> KeyLockedConflict:
    # Her membership in the organisation she reads the case through (its owner, or the
    # one it was referred to, or the coordination).
    membership = selectors.reading_access(user, case).membership
    return KeyLockedConflict() if membership.has_key_access else WaitingForAccess()


@contextmanager
def _answering_refusals(case: Case, user: User) -> Iterator[None]:
    """The services' refusals, as the API's answers."""
    try:
        yield
    except NotAllowed:
        raise RoleForbids from None
    except KeyLocked:
        raise _key_refusal(case, user) from None
    except CannotOpen:
        raise NotShared from None
    except CaseErased:
        raise Erased from None
    except OutcomeMissing:
        raise exceptions.ValidationError({"outcome": [OUTCOME_MISSING]}) from None
    except TransitionRefused as refused:
        current, wanted = refused.args
        labels = dict(Case.Status.choices)
        raise MoveRefused(
            _("The case is “%(current)s” now: it cannot become “%(wanted)s”.")
            % {"current": labels.get(current, current), "wanted": labels.get(wanted, wanted)}
        ) from None


class StreamedFile(DefaultContentNegotiation):
    """A file goes out whatever the client says it accepts (``<img>`` asks for image/*,
    which the JSON renderer alone would refuse with 406); errors stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StaffView(APIView):
    authentication_classes = [SessionAuthentication]  # enforces CSRF on unsafe methods
    permission_classes = [StaffOnly]


ERROR = ErrorSerializer
# DRF's validation errors: {"to": ["..."], ...}, by index inside a list (web/schema.py).
FIELD_ERRORS = VALIDATION_ERRORS
ACCEPT_LANGUAGE = OpenApiParameter(
    "Accept-Language",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="fr (default), ar or en: the language of labels and messages.",
)
REFUSED = OpenApiResponse(
    ERROR,
    description="Not signed in, second factor not passed, password to change, a missing "
    "CSRF token, or a role that does not allow the act.",
)
NOT_FOUND = OpenApiResponse(
    ERROR, description="No such case among her organisations' (whether it exists or not)."
)
BAD_REQUEST = OpenApiResponse(FIELD_ERRORS, description="Each field in error, with its messages.")
KEY_LOCKED = OpenApiResponse(
    ERROR,
    description="Her key is not open in this session (sign in again), or she is still "
    "waiting for access to her organisation's key.",
)
ERASED = OpenApiResponse(
    ERROR, description="The case was erased under the retention policy: nothing of it opens."
)
CASE_ID = OpenApiParameter("case_id", OpenApiTypes.INT, OpenApiParameter.PATH)
ITEM_ID = OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH)
TAGS = ["staff"]


class Queue(StaffView):
    @extend_schema(
        operation_id="staff_cases_list",
        summary="The triage queue",
        description="One organisation's cases, urgent first, then by the time they must "
        "be acknowledged. Plaintext facts only: nothing is opened, nothing is audited.",
        tags=TAGS,
        parameters=[QueueQuerySerializer, ACCEPT_LANGUAGE],
        responses={
            200: QueueSerializer,
            400: BAD_REQUEST,
            403: REFUSED,
            404: OpenApiResponse(ERROR, description="No such page."),
        },
    )
    def get(self, request: Request) -> Response:
        memberships = list(selectors.memberships_of(request.user))
        if not memberships:
            raise exceptions.PermissionDenied(NO_ORGANISATION)
        query = QueueQuerySerializer(
            data=request.query_params, context={"memberships": memberships}
        )
        query.is_valid(raise_exception=True)
        organization = query.membership().organization
        now = timezone.now()
        try:
            page = selectors.queue_page(
                request.user,
                organization,
                query.filters(),
                query.validated_data["page"],
                per_page=settings.CASEWORK_QUEUE_PAGE_SIZE,
                now=now,
                strict=True,
            )
        except EmptyPage as empty:
            raise exceptions.NotFound(
                _("There is no page %(page)d: the queue has %(pages)d.")
                % {"page": query.validated_data["page"], "pages": empty.args[1]}
            ) from None
        queue = {
            "organization": organization,
            "counts": selectors.queue_counts(request.user, organization, now=now),
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": page.object_list,
        }
        return Response(QueueSerializer(queue, context={"now": now}).data)


class CaseDetail(StaffView):
    @extend_schema(
        operation_id="staff_cases_read",
        summary="Open the case file",
        description="The facts, and what is sealed opened with her key for this answer "
        "only: her words, her files' names, the conversation, the notes. Every opening "
        "is written in the audit log.",
        tags=TAGS,
        parameters=[CASE_ID, ACCEPT_LANGUAGE],
        responses={
            200: CaseFileSerializer,
            403: REFUSED,
            404: NOT_FOUND,
            409: KEY_LOCKED,
            410: ERASED,
        },
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for(request.user, case_id)
        with _answering_refusals(case, request.user):
            case_file = services.read_case_file(
                case, actor=request.user, identity=member_key(request._request)
            )
        access = selectors.reading_access(request.user, case)
        moves = (
            states.moves_from(case.status, consent_share=states.has_consent(case))
            if access.works_case
            else []
        )
        opened = OpenedCase(
            case=case,
            file=case_file,
            timeline=selectors.timeline(case),
            moves=[{"to": to, "label": label} for to, label in moves],
            access=access.via,
        )
        return Response(CaseFileSerializer(opened, context={"now": timezone.now()}).data)


def _facts(case: Case) -> Response:
    return Response(CaseSerializer(case, context={"now": timezone.now()}).data)


class CaseStatus(StaffView):
    @extend_schema(
        operation_id="staff_cases_status",
        summary="Move the case to another status",
        description="Only the moves of the case file's `moves`. She reads the new status "
        "in plain words on her return visit.",
        tags=TAGS,
        parameters=[CASE_ID, ACCEPT_LANGUAGE],
        request=StatusChangeSerializer,
        responses={
            200: CaseSerializer,
            400: BAD_REQUEST,
            403: REFUSED,
            404: NOT_FOUND,
            409: OpenApiResponse(ERROR, description="The case cannot move there from where it is."),
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for(request.user, case_id)
        asked = StatusChangeSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        with _answering_refusals(case, request.user):
            case = services.change_status(
                case,
                asked.validated_data["to"],
                actor=request.user,
                outcome=asked.validated_data["outcome"],
            )
        return _facts(case)


class CaseAssign(StaffView):
    @extend_schema(
        operation_id="staff_cases_assign",
        summary="Give the case to a colleague, or to nobody",
        description="A caseworker may take a case herself or let go of her own; giving a "
        "case to someone else is a triage lead's or an admin's act.",
        tags=TAGS,
        parameters=[CASE_ID, ACCEPT_LANGUAGE],
        request=AssignSerializer,
        responses={200: CaseSerializer, 400: BAD_REQUEST, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for(request.user, case_id)
        asked = AssignSerializer(data=request.data, context={"case": case})
        asked.is_valid(raise_exception=True)
        with _answering_refusals(case, request.user):
            case = services.assign_case(case, asked.validated_data["assignee"], actor=request.user)
        return _facts(case)


class CaseTags(StaffView):
    @extend_schema(
        operation_id="staff_cases_tags",
        summary="Set the case's tags",
        description="Exactly these tags from now on; new names become the organisation's "
        "tags. Tags are plaintext.",
        tags=TAGS,
        parameters=[CASE_ID, ACCEPT_LANGUAGE],
        request=TagsSerializer,
        responses={200: CaseSerializer, 400: BAD_REQUEST, 403: REFUSED, 404: NOT_FOUND},
    )
    def put(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for(request.user, case_id)
        asked = TagsSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        with _answering_refusals(case, request.user):
            services.set_tags(case, asked.validated_data["tags"], actor=request.user)
        return _facts(case)


class CaseNotes(StaffView):
    @extend_schema(
        operation_id="staff_cases_notes_add",
        summary="Add a note for colleagues",
        description="Sealed to her organisation only: the reporter never reads notes.",
        tags=TAGS,
        parameters=[CASE_ID, ACCEPT_LANGUAGE],
        request=NoteTextSerializer,
        responses={
            201: NoteSerializer,
            400: BAD_REQUEST,
            403: REFUSED,
            404: NOT_FOUND,
            410: ERASED,
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for(request.user, case_id)
        asked = NoteTextSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        text = asked.validated_data["text"]
        with _answering_refusals(case, request.user):
            note = services.add_note(case, text, actor=request.user)
        written = {"author": request.user.get_username(), "at": note.created_at, "text": text}
        return Response(NoteSerializer(written).data, status=status.HTTP_201_CREATED)


class CaseMessages(StaffView):
    @extend_schema(
        operation_id="staff_cases_messages_send",
        summary="Reply to her",
        description="She reads it when she comes back with her receipt code.",
        tags=TAGS,
        parameters=[CASE_ID, ACCEPT_LANGUAGE],
        request=ReplyTextSerializer,
        responses={
            201: MessageSerializer,
            400: BAD_REQUEST,
            403: REFUSED,
            404: NOT_FOUND,
            410: ERASED,
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for(request.user, case_id)
        asked = ReplyTextSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        text = asked.validated_data["text"]
        with _answering_refusals(case, request.user):
            message = services.reply_to_reporter(case, text, actor=request.user)
        sent = {"author": message.author, "text": text, "hour": message.created_at}
        return Response(MessageSerializer(sent).data, status=status.HTTP_201_CREATED)


class EvidenceCopy(StaffView):
    content_negotiation_class = StreamedFile

    @extend_schema(
        operation_id="staff_cases_evidence_view",
        summary="View a file's sanitised copy",
        description="The image without its metadata or location, shown inline. Files "
        "without a working copy (not images, or images that could not be decoded) have "
        "only their original. Written in the audit log.",
        tags=TAGS,
        parameters=[CASE_ID, ITEM_ID],
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The image."),
            403: REFUSED,
            404: OpenApiResponse(ERROR, description="No such case, file or working copy."),
            409: KEY_LOCKED,
            410: ERASED,
        },
    )
    def get(self, request: Request, case_id: int, item_id: int) -> StreamingHttpResponse:
        case = selectors.case_for(request.user, case_id)
        try:
            with _answering_refusals(case, request.user):
                item, reader = services.open_evidence(
                    case, item_id, actor=request.user, identity=member_key(request._request)
                )
        except EvidenceItem.DoesNotExist:
            raise Http404 from None
        return working_copy_response(item, reader)


class EvidenceOriginal(StaffView):
    content_negotiation_class = StreamedFile

    @extend_schema(
        operation_id="staff_cases_evidence_original",
        summary="Download a file's original bytes",
        description="Exactly as received, for a reason written in the audit log with her "
        "name. The file is named by the case and its hash, never by the name she gave it.",
        tags=TAGS,
        parameters=[CASE_ID, ITEM_ID, ACCEPT_LANGUAGE],
        request=DownloadSerializer,
        responses={
            # Any type: the original goes out as the type told from its bytes
            # (evidence/sniff.py: image/jpeg, application/pdf, text/plain...).
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The original, as an attachment, with its own Content-Type.",
            ),
            400: BAD_REQUEST,
            403: REFUSED,
            404: OpenApiResponse(ERROR, description="No such case or file."),
            409: KEY_LOCKED,
            410: ERASED,
        },
    )
    def post(self, request: Request, case_id: int, item_id: int) -> StreamingHttpResponse:
        case = selectors.case_for(request.user, case_id)
        asked = DownloadSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            with _answering_refusals(case, request.user):
                item, reader = services.open_evidence(
                    case,
                    item_id,
                    actor=request.user,
                    identity=member_key(request._request),
                    original=True,
                    reason=asked.validated_data["reason"],
                    note=asked.validated_data.get("note", ""),
                )
        except EvidenceItem.DoesNotExist:
            raise Http404 from None
        return original_response(case, item, reader)
