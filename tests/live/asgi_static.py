"""The project's ASGI app with the static files served beside it (what the TLS proxy does in production, and
runserver in development): the browser test needs the pages' scripts from the same server as the stream."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from acountee.asgi import application as project_application

application = ASGIStaticFilesHandler(project_application)
