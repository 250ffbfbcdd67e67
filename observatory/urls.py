from django.urls import path

from observatory import views

app_name = "observatory"

urlpatterns = [
    path("statistics/", views.statistics_page, name="statistics"),
    path("statistics.csv", views.statistics_csv, name="statistics_csv"),
    path("statistics.json", views.statistics_json, name="statistics_json"),
]
