from django.urls import path

from exchange import views

app_name = "exchange"
urlpatterns = [
    path("", views.sharing, name="sharing"),
    path("rows/<int:pk>/resend", views.resend, name="resend"),
    path("notify", views.notify, name="notify"),
]
