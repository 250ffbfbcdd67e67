# gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.
# The access log is off unless GUNICORN_ACCESS_LOG names a file ("-": standard output):
# every line is dated (by gunicorn or by journald), and "POST /fr/report/your-words/ 302"
# at 21:14:05 would date her filing to the second, where the database keeps the hour.
# When on, it names what was asked and how it went, never who asked: no client address
# (%(h)s), no user agent (%(a)s), no referrer (%(f)s), no query string.
import os

from config import gunicorn_logging

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))

# SLOW PHONES, SLOW-LORIS (docs/DEPLOY.md, "Slow clients").  Her 200 MB file at 100 KB/s
# takes 35 minutes, and nginx passes it on as it arrives (no plaintext on its disk).  A
# sync worker is one request at a time, timed as a whole: it was killed after 120 s with
# her upload, and three connections sending a byte every 5 s held every worker.  Threads:
# a slow body holds one thread, not the worker, and the master's timeout only checks the
# worker's main loop, which no request holds, so no upload is ever cut for its length.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# No more connections than threads: a worker whose threads are all busy leaves new
# connections to a worker with a free thread, instead of queueing them behind slow bodies.
worker_connections = threads
# nginx opens a connection per request (no upstream keepalive): none is kept here.
keepalive = 0
# How long a worker's main loop may go unheard before the master restarts it; not a
# limit on a request (a hung worker, not a long upload).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On stop or reload, what a worker's requests in progress get to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "120"))
# The longest a read (or write) of a request's connection may wait: a connection that
# stops sending is let go, one that keeps sending is read to its end.  Longer than
# nginx's client_body_timeout (120 s), which decides first for a phone behind it.
read_timeout = float(os.environ.get("GUNICORN_READ_TIMEOUT", "150"))


def pre_request(worker, req):
    gunicorn_logging.end_stalled_reads(req, read_timeout)


# Lines that would date her request (a worker killed, a request failing inside gunicorn)
# are counted instead, and the counts written on the hour and at stop.
logger_class = "config.gunicorn_logging.Logger"


def when_ready(server):
    server.log.count_every_hour()


def post_worker_init(worker):
    worker.log.count_every_hour()


def on_exit(server):
    server.log.write_counts()


accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# No control socket (gunicorn 27 makes $HOME/.gunicorn/gunicorn.ctl): nothing here uses
# it, and two servers on one machine would share it.
control_socket_disable = True
# Headers a proxy sets to carry the client address are not trusted, and not kept.
forwarded_allow_ips = ""
