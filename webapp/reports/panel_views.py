"""The dashboard's heavier panels, loaded lazily with htmx (complete without JavaScript)."""

from flask import Blueprint

bp = Blueprint("reports_panels", __name__)
