from django.urls import path

from . import views

app_name = "metrics"
urlpatterns = [
    path("screen/", views.screen_page, name="screen"),
    path("screen/live/", views.screen_panel, name="screen_live"),
    path("screen/data.json", views.screen_json, name="screen_json"),
    path("screen/grids.geojson", views.screen_grids, name="screen_grids"),
]
