from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "maps"
    verbose_name = "地图页面"
