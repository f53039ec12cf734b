from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from pygeoapi.django_ import views as pygeoapi_views

from blueprint import auth, otp, views

admin.site.site_header = "一张蓝图 管理"
admin.site.site_title = "一张蓝图"
admin.site.index_title = "数据与项目管理"

urlpatterns = [
    path("", include("maps.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/change/done/", auth.PasswordChangeDoneView.as_view(),
         name="password_change_done"),
    path("accounts/2fa/setup/", otp.setup, name="otp_setup"),
    path("accounts/2fa/verify/", otp.verify, name="otp_verify"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("exchange/", include("exchange.urls")),
    path("ogc/", include("api.ogc.urls")),
    # The landing page without the slash too: pygeoapi's links say /ogc?f=json (not a redirect).
    path("ogc", pygeoapi_views.landing_page),
    path("tiles/imagery/", include("api.imagery_urls")),
]
if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "blueprint.boundary.bad_request"
handler403 = "blueprint.boundary.forbidden"
handler404 = "blueprint.boundary.not_found"
handler500 = "blueprint.boundary.server_error"
