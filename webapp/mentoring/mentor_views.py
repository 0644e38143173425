"""The mentor's own pages, on their phone (/mentor): their mentees and their meetings."""

from flask import Blueprint

bp = Blueprint("mentor", __name__)
