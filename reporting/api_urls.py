from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from reporting import api

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("reports/", api.ReportCreate.as_view(), name="report_create"),
    path("reports/evidence/", api.EvidenceAdd.as_view(), name="evidence_add"),
    path("reports/mine/", api.MyReport.as_view(), name="my_report"),
]
