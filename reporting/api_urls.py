from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from reporting import api
from reporting.guide import api as guide_api

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("reports/", api.ReportCreate.as_view(), name="report_create"),
    path("reports/evidence/", api.EvidenceAdd.as_view(), name="evidence_add"),
    path("reports/mine/", api.MyReport.as_view(), name="my_report"),
]

# The first-response guide for a messaging bot (issue 8): read-only, open to anyone.
urlpatterns += [
    path("guide/<str:lang>/", guide_api.GuideStart.as_view(), name="guide_start"),
    path("guide/<str:lang>/talk/", guide_api.GuideTalk.as_view(), name="guide_talk"),
    path("guide/<str:lang>/nodes/<str:node_id>/", guide_api.GuideNode.as_view(), name="guide_node"),
]
