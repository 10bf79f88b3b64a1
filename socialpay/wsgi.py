import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
application = get_wsgi_application()

# Every web process (gunicorn's workers import this module) takes its start-up objects out
# of the garbage collector's sight: see core.gc_tuning.
from core.gc_tuning import serving_process_tune  # noqa: E402

serving_process_tune()
