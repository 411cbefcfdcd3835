from django.urls import path

from .views import cases, desk, intake, maps, patrol, public

app_name = "web"
urlpatterns = [
    # Residents (no account needed)
    path("", public.home, name="home"),
    path("report/", public.report, name="report"),
    path("report/<str:number>/thanks/", public.report_thanks, name="report_thanks"),
    path("track/", public.track, name="track"),
    path("track/<str:number>/", public.track_case, name="track_case"),
    path("track/<str:number>/feedback/", public.track_feedback, name="track_feedback"),
    path("track/<str:number>/reopen/", public.track_reopen, name="track_reopen"),
    path("track/<str:number>/support/", public.track_support, name="track_support"),
    path("categories/options/", public.category_options, name="category_options"),
    path("categories/suggest/", public.category_suggest, name="category_suggest"),
    path("service-area.geojson", public.service_area, name="service_area"),
    # Grid inspectors
    path("patrol/", patrol.patrol, name="patrol"),
    path("patrol/report/", patrol.patrol_report, name="patrol_report"),
    # Hotline operators
    path("intake/", intake.intake, name="intake"),
    path("intake/recent/", intake.intake_recent, name="intake_recent"),
    path("intake/places/", intake.place_search, name="place_search"),
    # Dispatchers, station heads, department handlers
    path("desk/", desk.desk, name="desk"),
    path("dept/", desk.dept, name="dept"),
    path("cases/<str:number>/", cases.case_detail, name="case"),
    path("cases/<str:number>/act/<str:panel_key>/", cases.case_act, name="case_act"),
    path("cases/<str:number>/quick/<str:action>/", desk.quick_action, name="quick_action"),
    # Everyone on staff
    path("map/", maps.map_page, name="map"),
    path("map/grids.geojson", maps.grids_geojson, name="map_grids"),
    path("map/cases.geojson", maps.cases_geojson, name="map_cases"),
]
