from django.urls import path

from casework import api

app_name = "staff_api"

urlpatterns = [
    path("cases/", api.Queue.as_view(), name="queue"),
    path("cases/<int:case_id>/", api.CaseDetail.as_view(), name="case"),
    path("cases/<int:case_id>/status/", api.CaseStatus.as_view(), name="case_status"),
    path("cases/<int:case_id>/assign/", api.CaseAssign.as_view(), name="case_assign"),
    path("cases/<int:case_id>/tags/", api.CaseTags.as_view(), name="case_tags"),
    path("cases/<int:case_id>/notes/", api.CaseNotes.as_view(), name="case_notes"),
    path("cases/<int:case_id>/messages/", api.CaseMessages.as_view(), name="case_messages"),
    path(
        "cases/<int:case_id>/evidence/<int:item_id>/view/",
        api.EvidenceCopy.as_view(),
        name="evidence_copy",
    ),
    path(
        "cases/<int:case_id>/evidence/<int:item_id>/original/",
        api.EvidenceOriginal.as_view(),
        name="evidence_original",
    ),
]
