"""The admin's login form: failed attempts lock out the address and the user name for a cool-off
(django-axes), before any password is hashed. Each test's attempts live in its own transaction, so
tests never lock one another out."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db.models import F

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-for-lockout-tests-3"
LOGIN = f"/{settings.ADMIN_URL}login/"
HOME = f"/{settings.ADMIN_URL}"
ATTACKER, STAFF_DESK = "198.51.100.66", "203.0.113.10"


@pytest.fixture
def staff(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; a test user
    django_user_model.objects.create_superuser("other", "other@example.com", PASSWORD)
    return django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)


def log_in(client, username: str, password: str, address: str = ATTACKER):
    return client.post(LOGIN, {"username": username, "password": password, "next": HOME}, REMOTE_ADDR=address)


def fail_until_locked(client, username: str = "staff", address: str = ATTACKER) -> list[int]:
    return [log_in(client, username, "wrong", address).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]


def cool_off_passes() -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME)


def test_a_correct_login_goes_in(client, staff):
    response = log_in(client, "staff", PASSWORD)

    assert (response.status_code, response["Location"]) == (302, HOME)


def test_failed_logins_lock_the_user_name_out_until_the_cool_off(client, staff):
    statuses = fail_until_locked(client)

    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the form again, then the lockout
    assert log_in(client, "staff", PASSWORD).status_code == 429  # the right password is refused too
    assert log_in(client, "staff", PASSWORD, address=STAFF_DESK).status_code == 429  # from anywhere
    cool_off_passes()
    assert log_in(client, "staff", PASSWORD).status_code == 302


def test_an_address_that_keeps_failing_is_locked_out_whatever_the_user_name(client, staff):
    statuses = [log_in(client, f"guess-{n}", "wrong").status_code for n in range(settings.AXES_FAILURE_LIMIT)]

    assert statuses[-1] == 429
    assert log_in(client, "staff", PASSWORD).status_code == 429
    assert log_in(client, "staff", PASSWORD, address=STAFF_DESK).status_code == 302  # another address


def test_other_users_are_unaffected_by_a_lockout(client, staff):
    fail_until_locked(client, "staff")

    assert log_in(client, "other", PASSWORD, address=STAFF_DESK).status_code == 302


def test_a_locked_out_attempt_hashes_no_password(client, staff, monkeypatch):
    fail_until_locked(client)
    hashed = []
    monkeypatch.setattr(MD5PasswordHasher, "verify", lambda self, *args: hashed.append(1) or False)
    monkeypatch.setattr(MD5PasswordHasher, "encode", lambda self, *args: hashed.append(1) or "md5$x$y")

    assert [log_in(client, "staff", "wrong").status_code for _ in range(20)] == [429] * 20
    assert hashed == []  # a locked-out flood costs a database lookup, not a password hash


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client, staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": f"guess-{n}", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")

    assert log_in(client, "staff", PASSWORD, address="127.0.0.1").status_code == 429
