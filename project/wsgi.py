"""WSGI entry point for gunicorn (``gunicorn project.wsgi``)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Web processes get the web statement_timeout and application_name (see project/settings.py).
os.environ.setdefault("DJANGO_PROCESS_TYPE", "web")

application = get_wsgi_application()
