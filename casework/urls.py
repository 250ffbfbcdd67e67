from django.urls import path

from casework.views import cases, escalations, members, referrals, signin

app_name = "casework"

urlpatterns = [
    path("login/", signin.sign_in, name="login"),
    path("login/code/", signin.verify, name="verify"),
    path("login/authenticator/", signin.enrol, name="enrol"),
    path("logout/", signin.sign_out, name="logout"),
    path("password/", signin.change_password, name="password"),
    path("", cases.queue, name="queue"),
    path("cases/<int:case_id>/", cases.case_detail, name="case"),
    path("cases/<int:case_id>/status/", cases.case_status, name="case_status"),
    path("cases/<int:case_id>/assign/", cases.case_assign, name="case_assign"),
    path("cases/<int:case_id>/tags/", cases.case_tags, name="case_tags"),
    path("cases/<int:case_id>/legal-hold/", cases.case_legal_hold, name="case_legal_hold"),
    path("cases/<int:case_id>/notes/", cases.case_note, name="case_note"),
    path("cases/<int:case_id>/reply/", cases.case_reply, name="case_reply"),
    path(
        "cases/<int:case_id>/evidence/<int:item_id>/view/",
        cases.evidence_copy,
        name="evidence_copy",
    ),
    path(
        "cases/<int:case_id>/evidence/<int:item_id>/original/",
        cases.evidence_original,
        name="evidence_original",
    ),
    path("escalations/", escalations.escalations, name="escalations"),
    path("organisation/<slug:slug>/members/", members.members, name="members"),
    path(
        "organisation/<slug:slug>/members/<int:membership_id>/grant/",
        members.grant,
        name="grant",
    ),
    path("cases/<int:case_id>/refer/", referrals.refer, name="case_refer"),
    path("referrals/", referrals.inbox, name="referrals"),
    path("referrals/<int:referral_id>/accept/", referrals.accept, name="referral_accept"),
    path("referrals/<int:referral_id>/decline/", referrals.decline, name="referral_decline"),
]
