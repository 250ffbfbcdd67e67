from django.urls import path

from web.health import healthz

# Outside any language prefix: what the load balancer and the monitoring ask.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
]
