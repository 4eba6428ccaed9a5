"""One-click unsubscribe (RFC 8058) from the link in a real email, under a real uvicorn server:
GET confirms only, POST opts out at once and is audited; SQLite and PostgreSQL."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import func, select

from core.db import session_scope
from core.models import AuditRecord, ChannelConsent, DomainEvent
from tests.api.http_fixtures import api, sent_email

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _path(url: str) -> str:
    return urlsplit(url).path


def test_get_only_confirms_and_post_opts_out_at_once_audited(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        path = _path(sent.unsubscribe_url)
        page = client.get(path)
        still_open = sent.send_again("j/email/after-get")  # a link scanner's GET changes nothing
        done = client.post(path, data=ONE_CLICK)  # what a mail client sends (urlencoded)
        again = client.post(path, data=ONE_CLICK)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text and 'method="post"' in page.text
    assert still_open.status == "executed"
    assert done.status_code == 200 and done.json() == {"status": "unsubscribed", "channel": "email"}
    assert again.json()["status"] == "already_unsubscribed"
    blocked = sent.send_again("j/email/after-post", days=2)
    assert blocked.status == "blocked" and blocked.rule in {"consent", "suppressed"}
    ws = sent.world.team.workspace_id
    with session_scope(sent.settings) as session:
        consent = session.get(ChannelConsent, (ws, "cus_gate_1", "email"))
        assert consent.status == "revoked" and consent.source == "unsubscribe link (one-click)"
        sms = session.get(ChannelConsent, (ws, "cus_gate_1", "sms"))
        assert sms.status == "granted"  # an email link leaves the other channels alone
        decisions = session.scalars(
            select(AuditRecord.decision)
            .where(AuditRecord.action == "unsubscribe.link")
            .order_by(AuditRecord.seq)
        ).all()
        assert decisions == ["opted_out", "already_opted_out"]
        opted = select(func.count()).where(DomainEvent.name == "customer.opted_out")
        assert session.scalar(opted) == 1


def test_the_confirmation_page_button_and_a_multipart_post_both_work(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        path = _path(sent.unsubscribe_url)
        button = client.post(
            path, data={**ONE_CLICK, "via": "page"}, headers={"Accept": "text/html"}
        )
        multipart = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    assert button.status_code == 200 and "You will not receive marketing emails" in button.text
    assert multipart.json()["status"] == "already_unsubscribed"
    with session_scope(sent.settings) as session:
        consent = session.get(ChannelConsent, (sent.world.team.workspace_id, "cus_gate_1", "email"))
        assert consent.source == "unsubscribe link (confirmation page)"


def test_a_forged_or_incomplete_request_changes_nothing(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        path = _path(sent.unsubscribe_url)
        token = path.rsplit("/", 1)[1]
        forged = "/v1/unsubscribe/" + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        bad_post = client.post(forged, data=ONE_CLICK)
        bad_page = client.get(forged)
        no_body = client.post(path)
        wrong_body = client.post(path, data={"List-Unsubscribe": "Yes"})
        still_open = sent.send_again("j/email/after-bad")
    assert bad_post.status_code == 401 and bad_post.json()["field"] == "token"
    assert bad_page.status_code == 401 and "not a valid unsubscribe link" in bad_page.text
    for response in (no_body, wrong_body):
        assert response.status_code == 422 and response.json()["field"] == "List-Unsubscribe"
    assert still_open.status == "executed"
