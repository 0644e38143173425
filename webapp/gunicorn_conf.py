"""gunicorn settings for production.

    gunicorn -c python:webapp.gunicorn_conf 'webapp:create_app()'

The app is loaded once in the master and its objects frozen out of the garbage collector
before the workers fork: the workers share those pages (copy-on-write stays untouched) and
each collection scans only what a request made, not the whole app.
"""

import gc

preload_app = True


def pre_fork(server, worker):
    gc.freeze()
