"""The dashboard's heavier panels, loaded lazily with htmx (complete without JavaScript):
each URL is a fragment for htmx and a full, printable page otherwise."""

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l

from webapp import htmx
from webapp.people.models import (
    DISABILITY_LABELS,
    SEGMENT_LABELS,
    SEX_LABELS,
    TARGET_GROUP_LABELS,
    TargetGroup,
)
from webapp.permissions import roles_required
from webapp.reports import figures, panels
from webapp.reports.access import REPORT_READERS
from webapp.reports.views import _choice, name_of
from webapp.text import clean
from webapp.timeutil import LOCAL_TZ

bp = Blueprint("reports_panels", __name__)

#: The learners panel's column headings.
LEARNER_LABELS = {
    "all": _l("Learners"),
    **SEX_LABELS,
    **SEGMENT_LABELS,
    **{f"disability_{kind}": label for kind, label in DISABILITY_LABELS.items()},
    "worker": TARGET_GROUP_LABELS[TargetGroup.ENTERPRISE_WORKER],
}


#: The dashboard's filter, kept by the links between the dashboard and its panels.
FILTER_ARGS = ("year", "commune", "village", "as_of")


def _panel(fragment: str, choice, **context):
    """The panel's page, or its fragment for htmx, for the dashboard's choice."""
    return htmx.render(
        "reports/panel.html",
        f"reports/_{fragment}.html",
        fragment=f"reports/_{fragment}.html",
        panel=fragment,
        choice=choice,
        as_of_local=choice.as_of.astimezone(LOCAL_TZ),
        args={k: v for k, v in request.args.items() if k in FILTER_ARGS},
        **context,
    )


@bp.get("/reports/panels/trend")
@roles_required(*REPORT_READERS)
def trend():
    """The total of one indicator (``?code=``), or of each, at the end of every month."""
    choice = _choice()
    chosen = figures.indicators_of(choice.year)
    code = clean(request.args.get("code"))
    if code:
        chosen = [i for i in chosen if i.code == code] or chosen
    lines = panels.trend(chosen, choice.scope, choice.year, choice.as_of)
    return _panel("trend", choice, lines=lines, name_of=name_of, code=code)


@bp.get("/reports/panels/activity")
@roles_required(*REPORT_READERS)
def activity():
    """Classes and sessions held in the year and their attendance rate, by unit."""
    choice = _choice()
    found = panels.activity(choice.scope, choice.year, choice.as_of)
    return _panel("activity", choice, activity=found, units=panels.class_units(choice.scope))


@bp.get("/reports/panels/learners")
@roles_required(*REPORT_READERS)
def learners():
    """The year's learners by sex and segment, by unit."""
    choice = _choice()
    return _panel(
        "learners",
        choice,
        learners=panels.learners(choice.scope, choice.year, choice.as_of),
        units=figures.unit_names(choice.scope),
        columns=panels.LEARNER_COLUMNS,
        labels=LEARNER_LABELS,
    )
