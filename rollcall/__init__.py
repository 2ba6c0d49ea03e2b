"""Composition root: settings, the Flask application, the command line and the WSGI entry."""
