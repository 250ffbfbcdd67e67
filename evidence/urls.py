"""The public files of the bundle format (evidence/views.py), included by config/urls.py
under ``bundles/``.  No app namespace: their names (``bundle_signing_key``,
``bundle_verifier``) are the ones pages and documents have always reversed."""

from django.urls import path

from evidence import views

urlpatterns = [
    path("signing-key.pem", views.signing_key, name="bundle_signing_key"),
    path("verify_bundle.py", views.verifier, name="bundle_verifier"),
]
