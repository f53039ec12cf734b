from django.contrib import admin
from django.urls import include, path

from blueprint import views

admin.site.site_header = "一张蓝图 管理"
admin.site.site_title = "一张蓝图"
admin.site.index_title = "数据与项目管理"

urlpatterns = [
    path("", include("maps.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("ogc/", include("api.ogc.urls")),
    path("tiles/imagery/", include("api.imagery_urls")),
]

handler400 = "blueprint.views.bad_request"
handler403 = "blueprint.views.forbidden"
handler404 = "blueprint.views.not_found"
handler500 = "blueprint.views.server_error"
