"""Settings of the benchmarks and of the server they start: the project's settings with two changes.

1. The `bench` app is installed: its stock-viewflow flow (bench/flows.py) must live in an installed app.
2. Static files use the plain storage: `collectstatic` with the manifest storage currently stops on
   viewflow's roboto-fontface CSS (it references .woff2 files the wheel does not ship), and the
   benchmarks measure pages, not static files. Only the URLs `{% static %}` prints differ.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
