"""Server-rendered pages (Jinja2): the OAuth callback page now, the console later."""
