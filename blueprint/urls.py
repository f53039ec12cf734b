from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from blueprint import auth, views

admin.site.site_header = "一张蓝图 管理"
admin.site.site_title = "一张蓝图"
admin.site.index_title = "数据与项目管理"
admin.site.login_form = auth.ThrottledAuthenticationForm

urlpatterns = [
    path("", include("maps.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("ogc/", include("api.ogc.urls")),
    path("tiles/imagery/", include("api.imagery_urls")),
]
if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "blueprint.boundary.bad_request"
handler403 = "blueprint.boundary.forbidden"
handler404 = "blueprint.boundary.not_found"
handler500 = "blueprint.boundary.server_error"
