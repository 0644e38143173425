"""Lớp Số: the class scheduler and light LMS for 'Bình dân học vụ số'."""

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI. Nothing else happens here."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from webapp import config

    config.load(app, test_config)
    from webapp.ids import RowIdConverter, WordConverter

    # Every <int:…> of every blueprint is a row id: bounded, so a crafted number is 404; no
    # <token> or <code> holds a control character (PostgreSQL refuses NUL in a query).
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = WordConverter
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address (log-in throttling, sign-up limits) and https scheme come
        # from the proxy's headers; without this every request would look like 127.0.0.1.
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from flask_compress import Compress

    from webapp import assets, cli, errors, i18n, security
    from webapp.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    # HTML, CSS and SVG go out compressed (zstd, Brotli or gzip, as the browser accepts):
    # a 30 KB page is 6-8 KB on a village's mobile network. A proxy in front that compresses
    # too sees Content-Encoding set and leaves the response alone.
    Compress(app)
    assets.init_app(app)
    errors.register(app)
    from webapp.people import visibility

    # Who may see a disability or a poor household (docs/personal-data.md), in every template.
    app.jinja_env.globals.update(
        can_see=visibility.can_see, visible_segments=visibility.visible_segments
    )
    from webapp.people.consent import why_not_processed

    # Why a person is not processed (consent withdrawn, restricted, erased), on their pages.
    app.jinja_env.globals["not_processed"] = why_not_processed
    from webapp.timeutil import utcnow

    # When a page was made (a phone's kept copy says "data as of 07:45": static/js/offline.js).
    app.jinja_env.globals["rendered_at"] = lambda: utcnow().isoformat(timespec="seconds")

    from webapp.accounts.views import bp as accounts_bp
    from webapp.certificates.views import bp as certificates_bp
    from webapp.checkin import cards_views, learner_views, live_views, offline_views, records_views
    from webapp.learning import quiz_views
    from webapp.learning import views as learning_views
    from webapp.mentoring import mentor_views, overview_views
    from webapp.mentoring import occasion as _meetings  # noqa: F401 (its tables, its kind)
    from webapp.mentoring import views as mentoring_views
    from webapp.people.audit_views import bp as people_audit_bp
    from webapp.people.impact_views import bp as impact_bp
    from webapp.people.import_views import bp as imports_bp
    from webapp.people.phone_consent_views import bp as phone_consent_bp
    from webapp.people.privacy_views import bp as privacy_bp
    from webapp.people.views import bp as people_bp
    from webapp.reports import export_views, panel_views, submit_views
    from webapp.reports import views as reports_views
    from webapp.scheduling import (
        calendar_views,
        enrolment_views,
        public_views,
        session_views,
        signup_views,
    )
    from webapp.scheduling import views as scheduling_views
    from webapp.site import bp as site_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(impact_bp)
    app.register_blueprint(people_audit_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(phone_consent_bp)
    app.register_blueprint(certificates_bp)
    for module in (
        scheduling_views,
        session_views,
        enrolment_views,
        signup_views,
        calendar_views,
        public_views,
        learner_views,
        live_views,
        cards_views,
        records_views,
        offline_views,
        learning_views,
        quiz_views,
        mentoring_views,
        overview_views,
        mentor_views,
        reports_views,
        export_views,
        submit_views,
        panel_views,
    ):
        app.register_blueprint(module.bp)
    cli.register(app)
    return app
