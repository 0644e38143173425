"""The mentoring network's management pages (organisers, village leads): mentors, their
mentees, assigning, ending and reassigning."""

from flask import Blueprint

bp = Blueprint("mentoring", __name__)
