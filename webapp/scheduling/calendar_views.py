"""The trainer's day and the organiser's calendar (placeholder: being written)."""

from flask import Blueprint

bp = Blueprint("calendar", __name__)
