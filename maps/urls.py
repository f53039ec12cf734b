from django.urls import path

from maps import export_views, project_views, views

app_name = "maps"
urlpatterns = [
    path("", views.home, name="home"),
    path("maps/", views.browser, name="browser"),
    path("maps/locate", views.locate, name="locate"),
    path("maps/projects/", project_views.project_list, name="projects"),
    path("maps/projects/<str:code>/", project_views.project, name="project"),
    path("maps/projects/<str:code>", project_views.project),
    path("maps/preview", project_views.preview, name="preview"),
    path("maps/checks/<str:check_id>", project_views.check, name="check"),
    path("maps/imagery", views.compare, name="compare"),
    path("maps/data/locate", views.locate_data, name="locate-data"),
    path("maps/data/<slug:slug>", views.layer_features, name="layer-features"),
    path("maps/data/<slug:slug>/table", export_views.layer_table, name="layer-table"),
    path("maps/data/<slug:slug>/export.<str:fmt>", export_views.layer_export, name="layer-export"),
    path("maps/print.pdf", export_views.print_map, name="print"),
    path("maps/language/<str:code>", views.language, name="language"),
]
