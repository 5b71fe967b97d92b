"""A first run that just works: / leads somewhere, signup is closed unless an operator opens it,
an organization's owner can set a password and sign in, and command help needs no secrets."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-new-long-passphrase-42"


def test_the_root_sends_visitors_to_the_login_page():
    response = Client().get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert response.status_code == 200


def test_signing_in_lands_on_a_page_not_a_404():
    UserFactory(username="ops", is_staff=True, is_superuser=True, password=PASSWORD)
    client = Client()
    response = client.post("/accounts/login/", {"login": "ops", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/"


def test_the_admins_view_site_link_leads_somewhere(admin_client):
    page = admin_client.get("/admin/").content.decode()
    view_site = re.search(r'<a href="([^"]+)">View site</a>', page).group(1)
    response = admin_client.get(view_site, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/"


SIGNUP = {
    "email": "stranger@example.com",
    "username": "stranger",
    "password1": PASSWORD,
    "password2": PASSWORD,
}


def test_signup_is_closed_unless_the_operator_opens_it(settings):
    client = Client()
    assert "Sign Up Closed" in client.get("/accounts/signup/").content.decode()
    client.post("/accounts/signup/", SIGNUP)
    assert not get_user_model().objects.filter(username="stranger").exists()

    settings.SIGNUP_OPEN = True
    response = client.post("/accounts/signup/", SIGNUP, follow=True)
    assert get_user_model().objects.filter(username="stranger").exists()
    assert response.status_code == 200  # where a new user lands is a page, not a 404


def test_a_new_owner_gets_a_one_time_link_to_set_a_password(settings):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    out = io.StringIO()
    call_command("create_organization", "Acme", "--owner-email", "boss@acme.test", stdout=out)
    printed = re.search(
        r"https://voice\.example\.com(/accounts/password/reset/key/\S+/)", out.getvalue()
    )
    assert printed, out.getvalue()
    link = printed.group(1)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@acme.test"]
    assert f"https://voice.example.com{link}" in mail.outbox[0].body

    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and 'name="password1"' in form.content.decode()
    set_password = form.redirect_chain[-1][0]
    client.post(set_password, {"password1": PASSWORD, "password2": PASSWORD})
    owner = get_user_model().objects.get(email="boss@acme.test")
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)

    again = Client().get(link, follow=True).content.decode()
    assert 'name="password1"' not in again  # used once: no longer valid
    signed_in = Client().post(
        "/accounts/login/", {"login": "boss@acme.test", "password": PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == "/"  # the dashboard of the new organization
    assert signed_in.status_code == 200
    assert "Acme" in signed_in.content.decode()


def test_an_owner_who_can_already_sign_in_gets_no_link():
    UserFactory(email="boss@acme.test", password=PASSWORD)
    out = io.StringIO()
    call_command("create_organization", "Acme", "--owner-email", "boss@acme.test", stdout=out)
    assert "/accounts/password/reset/key/" not in out.getvalue()
    assert mail.outbox == []


def test_command_help_needs_no_configuration(tmp_path):
    empty_env_file = tmp_path / "env"
    empty_env_file.write_text("")
    environ = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ENV_FILE": str(empty_env_file)}
    result = subprocess.run(
        [sys.executable, "manage.py", "create_organization", "--help"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    assert "--owner-email" in result.stdout
