from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.local")
application = get_wsgi_application()

# Both runserver and gunicorn load this module in the process that serves requests (tests and
# management commands do not): load the models now, so the first reader's question is as fast
# as the next one.
from newsroom.warmup import models_warm_start  # noqa: E402 (needs the application set up)

models_warm_start()
