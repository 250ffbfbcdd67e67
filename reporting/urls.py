from django.urls import path

from reporting import uploads, views
from reporting.guide import views as guide_views

app_name = "reporting"

urlpatterns = [
    path("", views.home, name="home"),
    path("report/", views.intake_step, {"name": "urgency"}, name="intake"),
    path("report/step/<slug:name>/", views.intake_step, name="intake_step"),
    path("report/your-words/", views.intake_tell, name="intake_tell"),
    path("report/your-words/sealed/", views.intake_sealed, name="intake_sealed"),
    path("report/receipt/", views.intake_done, name="intake_done"),
    # Her browser's resumable uploads of the files it sealed (tus; reporting/uploads.py).
    path("report/uploads/", uploads.uploads, name="uploads"),
    path("report/uploads/<str:token>/", uploads.upload, name="upload"),
    path("return/", views.return_visit, name="return_visit"),
    path("return/report/", views.my_report, name="my_report"),
    path("return/evidence/", views.my_report_evidence, name="my_report_evidence"),
    path("return/message/", views.my_report_message, name="my_report_message"),
    path("return/consent/", views.my_report_consent, name="my_report_consent"),
    path("return/leave/", views.leave, name="leave"),
    # Her return visit with scripts on: her browser opens her report (reporting/views/visits.py).
    path("return/open/", views.visit_open, name="visit_open"),
    path("return/open/proof/", views.visit_prove, name="visit_prove"),
    path("return/sealed/", views.visit_report, name="visit_report"),
    path("return/sealed/headers/", views.visit_headers, name="visit_headers"),
    path("return/sealed/<int:pk>/", views.visit_object, name="visit_object"),
    path("return/sealed/message/", views.visit_message, name="visit_message"),
    path("return/sealed/evidence/", views.visit_evidence, name="visit_evidence"),
    path("return/sealed/consent/", views.visit_consent, name="visit_consent"),
    path("exit/", views.quick_exit, name="quick_exit"),
]

# The first-response guide (issue 8): questions and advice cards whose only state is the
# node id in the address.  "talk-to-someone" has a hyphen, which no node id can have
# (reporting/guide/checks.py), so it never hides a node.

urlpatterns += [
    path("guide/", guide_views.guide_start, name="guide"),
    path("guide/talk-to-someone/", guide_views.guide_talk, name="guide_talk"),
    path("guide/<slug:node_id>/", guide_views.guide_node, name="guide_node"),
]
