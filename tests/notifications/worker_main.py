"""Start a Celery worker whose retry backoff is TEST_BACKOFF_SECONDS instead of 30 s and more.

Used only by the real-worker tests, so that a forced retry comes back within their polling window; the
claim, the retry through `self.retry` and the broker are the real ones. Arguments are celery's own.
"""

import datetime as dt
import os
import sys

from celery.__main__ import main

if __name__ == "__main__":
    seconds = float(os.environ["TEST_BACKOFF_SECONDS"])

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from notifications import services

    services.backoff = lambda attempts: dt.timedelta(seconds=seconds)
    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(main())
