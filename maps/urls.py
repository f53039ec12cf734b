from django.urls import path

from maps import export_views, plans, project_views, quality, statistics, views

app_name = "maps"
urlpatterns = [
    path("", views.home, name="home"),
    path("maps/", views.browser, name="browser"),
    path("maps/start", views.start, name="start"),
    path("maps/basemap/<int:z>/<int:x>/<int:y>.png", views.basemap_tile, name="basemap-tile"),
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
    path("maps/versions/<slug:slug>/diff", plans.version_diff, name="version-diff"),
    path("maps/versions/<slug:slug>/diff.<str:fmt>", plans.version_diff_download,
         name="version-diff-download"),
    path("maps/conflicts", plans.conflict_map, name="conflicts"),
    path("maps/conflicts.<str:fmt>", plans.conflict_download, name="conflicts-download"),
    path("maps/quality/<slug:slug>/<int:number>", quality.quality_report, name="quality-report"),
    path("maps/submissions", quality.submission_list, name="submissions"),
    path("maps/submissions/<int:pk>", quality.submission_detail, name="submission"),
    # 统计分析 (maps/statistics.py)
    path("maps/statistics/", statistics.dashboard, name="statistics"),
    path("maps/statistics/projects", statistics.project_list, name="statistics-projects"),
    path("maps/statistics/checks", statistics.check_list, name="statistics-checks"),
    path("maps/statistics/export.xlsx", statistics.export_xlsx, name="statistics-xlsx"),
    path("maps/statistics/export.pdf", statistics.export_pdf, name="statistics-pdf"),
    path("maps/statistics/monthly/<int:pk>.<str:fmt>", statistics.monthly_file, name="statistics-monthly"),
    path("maps/ops/", views.ops, name="ops"),
    path("maps/ops/alerts/<int:alert_id>/ack", views.ops_acknowledge, name="ops-ack"),
]
