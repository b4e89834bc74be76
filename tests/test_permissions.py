"""Who may do what through the API: anonymous, a signed-in reader, token holders with and without
the scope, and a curator; and the tokens themselves: made on the settings page or in the admin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from accounts.models import ApiToken, Scope, token_hash
from accounts.services import api_token_create
from sources.models import Outlet, OutletRating

RATING = {"lean": "center", "rated_by": "Internal review 2026-11", "note": "Re-read a month of coverage."}


def user_with(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, password="a-long-test-password")
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app_label))
    return user


def bearer(user: User, *scopes: str) -> dict[str, str]:
    _token, key = api_token_create(user=user, name="test", scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def cast(db: None) -> dict[str, Any]:
    """Each caller as (a client, the headers it sends)."""
    reader = user_with("reader")
    curator = user_with("curator", "sources.add_outletrating")
    session = Client()
    session.force_login(reader)
    curator_session = Client()
    curator_session.force_login(curator)
    return {
        "anonymous": (Client(), {}),
        "reader (session)": (session, {}),
        "curator (session)": (curator_session, {}),
        "token with read": (Client(), bearer(reader, Scope.READ)),
        "token without read": (Client(), bearer(reader, Scope.ARTICLES_PUSH)),
        "token with ratings:write, no permission": (Client(), bearer(reader, Scope.READ, Scope.RATINGS_WRITE)),
        "token with read, curator": (Client(), bearer(curator, Scope.READ)),
        "token with ratings:write, curator": (Client(), bearer(curator, Scope.READ, Scope.RATINGS_WRITE)),
    }


@pytest.mark.parametrize(
    ("who", "read", "rate"),
    [
        ("anonymous", 200, 401),
        ("reader (session)", 200, 403),
        ("curator (session)", 200, 403),  # a browser session never writes: no cross-site form can
        ("token with read", 200, 403),
        ("token without read", 403, 403),
        ("token with ratings:write, no permission", 200, 403),
        ("token with read, curator", 200, 403),
        ("token with ratings:write, curator", 200, 201),
    ],
)
def test_each_caller_is_allowed_and_refused_what_it_should_be(
    cast: dict[str, Any], left_outlet: Outlet, who: str, read: int, rate: int
) -> None:
    client, headers = cast[who]
    ratings_url = f"/api/v1/outlets/{left_outlet.pk}/ratings/"

    for path in ("/api/v1/stories/", "/api/v1/articles/", "/api/v1/outlets/", ratings_url):
        response = client.get(path, **headers)
        assert response.status_code == read, (path, response.content)
    response = client.post(ratings_url, RATING, content_type="application/json", **headers)

    assert response.status_code == rate, response.content
    if rate == 201:
        left_outlet.refresh_from_db()
        assert left_outlet.lean == "center"
        assert OutletRating.objects.filter(outlet=left_outlet).first().entered_by.username == "curator"  # type: ignore[union-attr]
    else:
        assert "error" in response.json()
        assert OutletRating.objects.filter(outlet=left_outlet).count() == 1


def test_a_refusal_says_what_is_missing(cast: dict[str, Any], left_outlet: Outlet) -> None:
    url = f"/api/v1/outlets/{left_outlet.pk}/ratings/"

    def message(who: str) -> str:
        client, headers = cast[who]
        return client.post(url, RATING, content_type="application/json", **headers).json()["error"]["message"]

    assert message("token with read, curator") == "This token lacks the 'ratings:write' scope."
    assert message("token with ratings:write, no permission") == (
        "The token's user lacks the 'sources.add_outletrating' permission."
    )
    client, headers = cast["token without read"]
    assert client.get("/api/v1/stories/", **headers).json()["error"]["message"] == (
        "This token lacks the 'read' scope."
    )


def test_a_revoked_or_unknown_token_is_refused_even_for_reading(client: Client, db: None) -> None:
    user = user_with("someone")
    token, key = api_token_create(user=user, name="old script", scopes=[Scope.READ])
    assert client.get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None  # the tokens page says when each was last used

    token.revoked_at = token.created_at
    token.save(update_fields=["revoked_at"])

    assert client.get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert client.get("/api/v1/stories/", HTTP_AUTHORIZATION="Bearer x" * 2).status_code == 401
    assert client.get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_a_rating_post_is_validated_field_by_field(left_outlet: Outlet, db: None) -> None:
    curator = user_with("curator", "sources.add_outletrating")
    client = Client()

    response = client.post(
        f"/api/v1/outlets/{left_outlet.pk}/ratings/",
        {"lean": "far_left", "rated_at": "someday"},
        content_type="application/json",
        **bearer(curator, Scope.RATINGS_WRITE),
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"lean", "rated_by", "rated_at"}
    assert fields["lean"] == ['"far_left" is not a valid choice.']
    assert fields["rated_by"] == ["This field is required."]


# --- The settings page: /account/tokens/ ---------------------------------------------------


def test_the_tokens_page_needs_a_signed_in_user(client: Client, db: None) -> None:
    response = client.get("/account/tokens/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/tokens/"
    login = client.get(response["Location"])
    assert login.status_code == 200
    assert b'name="password"' in login.content


def test_a_reader_signs_in_creates_a_token_sees_it_once_and_uses_it(client: Client, db: None) -> None:
    user_with("reader")
    signed_in = client.post(
        "/accounts/login/", {"username": "reader", "password": "a-long-test-password", "next": "/account/tokens/"}
    )
    assert signed_in["Location"] == "/account/tokens/"
    page = client.get("/account/tokens/").content.decode()
    # A reader is offered the read scope only: the write scopes need permissions they lack.
    assert 'value="read"' in page
    assert 'value="ratings:write"' not in page
    assert 'value="articles:push"' not in page

    created = client.post("/account/tokens/", {"name": "my notebook", "scopes": ["read"]}, follow=True)

    html = created.content.decode()
    match = re.search(r'<code id="new-token-key">([^<]+)</code>', html)
    assert match
    key = match.group(1)
    token = ApiToken.objects.get()
    assert (token.name, token.scopes, token.user.username) == ("my notebook", ["read"], "reader")
    assert token.key_hash == token_hash(key)
    assert key not in str(ApiToken.objects.values().get())  # only its hash and prefix are stored
    assert f"{token.prefix}…" in html
    assert 'id="new-token-key"' not in client.get("/account/tokens/").content.decode()  # shown once
    assert Client().get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_a_reader_cannot_give_a_token_a_scope_they_cannot_use(client: Client, db: None) -> None:
    client.force_login(user_with("reader"))

    response = client.post("/account/tokens/", {"name": "sneaky", "scopes": ["ratings:write"]})

    assert response.status_code == 400
    assert "is not one of the available choices" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_curator_is_offered_the_write_scope_their_permission_allows(client: Client, db: None) -> None:
    client.force_login(user_with("curator", "sources.add_outletrating"))

    page = client.get("/account/tokens/").content.decode()

    assert 'value="ratings:write"' in page
    assert 'value="articles:push"' not in page


def test_a_user_revokes_their_own_token_and_no_one_else_s(client: Client, db: None) -> None:
    owner, other = user_with("owner"), user_with("other")
    token, key = api_token_create(user=owner, name="script", scopes=[Scope.READ])
    client.force_login(other)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404

    client.force_login(owner)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert "revoked" in client.get("/account/tokens/").content.decode()


def test_a_curator_creates_a_token_for_a_partner_in_the_admin(admin_client: Client, db: None) -> None:
    partner = user_with("wire-partner", "sources.add_article")

    response = admin_client.post(
        "/admin/accounts/apitoken/add/",
        {"user": partner.pk, "name": "wire feed", "scopes": ["articles:push"]},
        follow=True,
    )

    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert (token.user, token.scopes, token.created_by.username) == (partner, ["articles:push"], "admin")  # type: ignore[union-attr]
    message = next(str(message) for message in response.context["messages"])
    key = message.rsplit(": ", 1)[1]
    assert token.key_hash == token_hash(key)
    pushed = Client().post(
        "/api/v1/articles/push/", {"articles": []}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert pushed.status_code == 400  # authenticated and allowed: only the empty list is refused


def test_a_token_costs_one_query_and_a_use_is_recorded_at_most_once_a_minute(
    client: Client, django_assert_num_queries: Any, db: None
) -> None:
    user = user_with("reader")
    _token, key = api_token_create(user=user, name="script", scopes=[Scope.READ])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    # The token with its user, the use recorded, the stories' version, the page.
    with django_assert_num_queries(4):
        client.get("/api/v1/stories/", **headers)
    with django_assert_num_queries(2):  # the token, and the cached page's version
        client.get("/api/v1/stories/", **headers)


def test_a_token_cannot_be_made_with_an_unknown_scope_or_no_name(db: None) -> None:
    user = user_with("reader")

    with pytest.raises(ValueError, match="Unknown scopes: admin"):
        api_token_create(user=user, name="x", scopes=["read", "admin"])
    with pytest.raises(ValueError, match="needs a name"):
        api_token_create(user=user, name="  ", scopes=["read"])
    assert not ApiToken.objects.exists()


def test_a_signed_in_curator_is_told_a_write_needs_a_token(cast: dict[str, Any], left_outlet: Outlet) -> None:
    client, _headers = cast["curator (session)"]

    response = client.post(f"/api/v1/outlets/{left_outlet.pk}/ratings/", RATING, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Writing needs an API token; a browser session cannot write."


def test_a_rating_post_carries_its_scheme_and_score_and_the_policy_decides_the_lean(
    left_outlet: Outlet, db: None
) -> None:
    curator = user_with("curator", "sources.add_outletrating")
    url = f"/api/v1/outlets/{left_outlet.pk}/ratings/"
    headers = bearer(curator, Scope.RATINGS_WRITE)

    elsewhere = Client().post(
        url, {**RATING, "lean": "right", "scheme": "UK", "score": 0.8}, content_type="application/json", **headers
    )
    out_of_range = Client().post(url, {**RATING, "score": 2}, content_type="application/json", **headers)
    here = Client().post(url, {**RATING, "score": -0.1}, content_type="application/json", **headers)

    assert elsewhere.status_code == 201
    assert (elsewhere.json()["scheme"], elsewhere.json()["score"]) == ("UK", 0.8)
    assert out_of_range.status_code == 400
    assert set(out_of_range.json()["error"]["fields"]) == {"score"}
    assert here.status_code == 201
    outlet = Client().get(f"/api/v1/outlets/{left_outlet.pk}/").json()
    # A UK rating never moves a US outlet: the current rating is the US one just added.
    assert (outlet["scheme"], outlet["lean"], outlet["current_rating"]["id"]) == ("US", "center", here.json()["id"])
    assert outlet["lean_rule"]
