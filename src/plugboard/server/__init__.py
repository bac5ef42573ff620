"""The HTTP server: the only package that imports FastAPI or Jinja2."""
