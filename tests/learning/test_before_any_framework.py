"""Before any framework is imported, the eligibility page says how to import one (the
command and a link to the framework page) instead of failing, and no version can be asked."""

from tests.learning import learning_world
from webapp.extensions import db
from webapp.learning.models import Area, CertificateRule, Competency, FrameworkVersion


def test_eligibility_before_any_framework_explains_it(app, world, client, actions):
    with app.app_context():
        lw = learning_world.build(world)
        for model in (CertificateRule, Competency, Area, FrameworkVersion):
            db.session.query(model).delete()
        db.session.commit()
    actions.login("trainer")
    page = client.get(f"/classes/{lw.class_id}/eligibility")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "flask framework import" in text and 'href="/framework"' in text
    asked = client.get(f"/classes/{lw.class_id}/eligibility?version=1")
    assert asked.status_code == 404
    text = asked.get_data(as_text=True)
    assert "Không tìm thấy trang" in text and "flask framework import" not in text
