# gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.
# The access log is off unless GUNICORN_ACCESS_LOG names a file ("-": standard output):
# every line is dated (by gunicorn or by journald), and "POST /fr/report/your-words/ 302"
# at 21:14:05 would date her filing to the second, where the database keeps the hour.
# When on, it names what was asked and how it went, never who asked: no client address
# (%(h)s), no user agent (%(a)s), no referrer (%(f)s), no query string.
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # a large upload on a slow phone
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# No control socket (gunicorn 27 makes $HOME/.gunicorn/gunicorn.ctl): nothing here uses
# it, and two servers on one machine would share it.
control_socket_disable = True
# Headers a proxy sets to carry the client address are not trusted, and not kept.
forwarded_allow_ips = ""
