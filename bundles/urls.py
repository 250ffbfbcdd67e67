"""The staff pages of evidence bundles, under /<language>/staff/ beside casework's
(config/urls.py): the same addresses as when they were casework's, in a namespace of
their own."""

from django.urls import path

from bundles.views import bundles, keys

app_name = "bundles"

urlpatterns = [
    path("cases/<int:case_id>/bundles/", bundles.request_bundle, name="bundle_request"),
    path("cases/<int:case_id>/bundles/<uuid:bundle_id>/", bundles.bundle_page, name="bundle"),
    path(
        "cases/<int:case_id>/bundles/<uuid:bundle_id>/approve/",
        bundles.approve_bundle,
        name="bundle_approve",
    ),
    path(
        "cases/<int:case_id>/bundles/<uuid:bundle_id>/refuse/",
        bundles.refuse_bundle,
        name="bundle_refuse",
    ),
    path(
        "cases/<int:case_id>/bundles/<uuid:bundle_id>/download/",
        bundles.download_bundle,
        name="bundle_download",
    ),
    path("my-keys/", keys.my_keys, name="my_keys"),
    path("my-keys/<int:recipient_id>/remove/", keys.remove_key, name="my_key_remove"),
    path("my-keys/organisation-key/", keys.export_key, name="my_org_key"),
]
