from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotspotsConfig(AppConfig):
    name = "civicgrid.hotspots"
    label = "hotspots"
    verbose_name = _("Hot spots and re-inspection")
