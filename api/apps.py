from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # pygeoapi's Django views call this name at request time: serve them from our cached API.
        import pygeoapi.django_.views as pygeoapi_views

        from api.ogc.adapter import execute_from_django

        pygeoapi_views.execute_from_django = execute_from_django
