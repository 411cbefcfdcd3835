from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "civicgrid.core"
    label = "core"
