"""ASGI entry point, for servers such as uvicorn or daphne."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Web processes get the web statement_timeout and application_name (see project/settings.py).
os.environ.setdefault("DJANGO_PROCESS_TYPE", "web")

application = get_asgi_application()
