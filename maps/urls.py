from django.urls import path

from maps import views

app_name = "maps"
urlpatterns = [
    path("", views.home, name="home"),
    path("maps/", views.browser, name="browser"),
    path("maps/locate", views.locate, name="locate"),
    path("maps/projects/<str:code>", views.project, name="project"),
    path("maps/preview", views.preview, name="preview"),
    path("maps/checks/<str:check_id>", views.check, name="check"),
    path("maps/imagery", views.compare, name="compare"),
    path("maps/data/locate", views.locate_data, name="locate-data"),
    path("maps/data/<slug:slug>", views.layer_features, name="layer-features"),
    path("maps/language/<str:code>", views.language, name="language"),
    path("maps/ops/", views.ops, name="ops"),
    path("maps/ops/alerts/<int:alert_id>/ack", views.ops_acknowledge, name="ops-ack"),
]
