from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.local")
# A web process encodes one short question at a time: one thread each (PyTorch and ONNX Runtime
# read this before they start), the parallelism coming from the server's workers. With a thread
# per core in each of several workers, the workers' threads fought for the cores (and spun waiting
# for each other): Ask served 2.5 questions a second to 20 askers on 2 cores (lab/bench/ask.py).
# Set OMP_NUM_THREADS to change it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
application = get_wsgi_application()

# Both runserver and gunicorn load this module in the process that serves requests (tests and
# management commands do not): load the models now, so the first reader's question is as fast
# as the next one.
from newsroom.warmup import models_warm_start  # noqa: E402 (needs the application set up)

models_warm_start()
