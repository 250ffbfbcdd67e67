from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

handler400 = "web.errors.bad_request"
handler404 = "web.errors.not_found"
handler500 = "web.errors.server_error"

urlpatterns = [
    path("", include("web.urls")),  # /healthz
    path("admin/", admin.site.urls),
    # Not under a language prefix: a mobile app or a messaging bot names its language
    # in the request.
    path("api/", include("reporting.api_urls")),
    path("api/staff/", include("casework.api_urls")),
    # Stable addresses, no language: what anyone checking an evidence bundle needs
    # (bundles/signing-key.pem, bundles/verify_bundle.py).
    path("bundles/", include("evidence.urls")),
]

# Every public page carries its language in the path (/fr/, /ar/, /en/): a bookmark or a
# shared link opens in the same language, with no cookie needed to remember it.
urlpatterns += i18n_patterns(
    # Staff pages carry the language too: caseworkers read French or Arabic.
    path("staff/", include("casework.urls")),
    path("staff/", include("observatory.urls")),
    path("staff/", include("bundles.urls")),
    path("", include("reporting.urls")),
    prefix_default_language=True,
)
