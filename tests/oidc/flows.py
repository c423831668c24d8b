"""Sportello's OpenID Connect provider driven by an independent relying-party
library: Authlib (OAuth2Session for the flows, authlib.oidc.discovery for the
provider metadata, authlib.jose for the ID tokens) over requests.

    flows.py BASE_URL

Run by tests/oidc/run.sh against `sportello serve --demo`. Prints one line per
check and a final `N passed, M failed`; exits non-zero if any check failed.
"""

import sys
import time
import traceback
import warnings

# authlib.jose is deprecated upstream in favour of joserfc (to go in Authlib
# 2.0, hence the pin): it is still Authlib's JWT API, and its warning (which
# authlib.deprecate forces to "always") would only clutter the output.
from authlib.deprecate import AuthlibDeprecationWarning  # noqa: E402

warnings.simplefilter("ignore", AuthlibDeprecationWarning)

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.common.urls import add_params_to_uri, url_decode, urlparse  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session, OAuthError  # noqa: E402
from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402
from authlib.jose.errors import JoseError  # noqa: E402
from authlib.oauth2 import rfc9207  # noqa: E402
from authlib.oidc import rpinitiated  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url  # noqa: E402

BASE = sys.argv[1].rstrip("/")
PASSWORD = "Demo-Sportello-2026"
ADMIN = "BNCGLI75C45H501W"  # central administrator
LUCA = "NRELCU85M10D548J"  # holds PTT, which implies Telecontenzioso
ANNA = "VRDNNA82D50D548K"  # holds only Telecontenzioso
RP = "https://rp.example.test/callback"
RP_BYE = "https://rp.example.test/bye"
SCOPE = "openid profile email"
TIMEOUT = 15

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS  {name}")
    else:
        failed += 1
        print(f"FAIL  {name}")
        if detail:
            print("      " + str(detail)[:1500].replace("\n", "\n      "))
    return ok


def section(name, fn):
    """Runs a group of checks; an exception counts as one failed check."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


def hidden_field(html, name):
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def portal_login(fiscal_code):
    """A browser session logged in through the real form at /accedi."""
    s = requests.Session()
    page = s.get(f"{BASE}/accedi", timeout=TIMEOUT)
    page.raise_for_status()
    csrf = hidden_field(page.text, "csrf_token")
    r = s.post(
        f"{BASE}/accedi",
        data={"csrf_token": csrf, "fiscal_code": fiscal_code, "password": PASSWORD},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    if r.status_code != 303:
        raise RuntimeError(f"login of {fiscal_code}: HTTP {r.status_code}: {r.text[:300]}")
    return s


def query_of(location):
    return dict(url_decode(urlparse.urlparse(location).query))


state = {}


# ---------------------------------------------------------------- setup

def setup():
    admin = portal_login(ADMIN)
    check("central administrator logs in through /accedi", True)
    home = admin.get(f"{BASE}/", timeout=TIMEOUT)
    csrf = hidden_field(home.text, "csrf_token")
    apps = admin.get(f"{BASE}/api/v1/applications", timeout=TIMEOUT).json()
    ptt = next(a["id"] for a in apps if a["code"] == "PTT")

    def register(body):
        body = dict(body, application_id=ptt)
        r = admin.post(
            f"{BASE}/api/v1/oidc/clients",
            json=body,
            headers={"X-CSRF-Token": csrf},
            timeout=TIMEOUT,
        )
        return r

    r = register(
        {
            "name": "PTT web (authlib)",
            "redirect_uris": [RP],
            "post_logout_redirect_uris": [RP_BYE],
        }
    )
    v = r.json() if r.status_code == 201 else {}
    check(
        "register confidential RS256 client for PTT (201, secret shown once)",
        r.status_code == 201 and v.get("client_secret"),
        f"HTTP {r.status_code}: {r.text[:500]}",
    )
    state["conf"] = (v["client_id"], v["client_secret"])

    r = register(
        {
            "name": "PTT app (authlib, public)",
            "public": True,
            "redirect_uris": [RP],
            "post_logout_redirect_uris": [RP_BYE],
            "id_token_signed_response_alg": "ES256",
        }
    )
    v = r.json() if r.status_code == 201 else {}
    check(
        "register public ES256 client for PTT (201, no secret)",
        r.status_code == 201 and "client_secret" not in v,
        f"HTTP {r.status_code}: {r.text[:500]}",
    )
    state["public"] = v["client_id"]

    r = admin.post(
        f"{BASE}/api/v1/oidc/clients",
        json={"application_id": ptt, "name": "x", "redirect_uris": [RP]},
        timeout=TIMEOUT,
    )
    check("registration without X-CSRF-Token is refused", r.status_code in (400, 403), f"HTTP {r.status_code}")

    state["luca"] = portal_login(LUCA)
    check("Luca Neri logs in through /accedi (another session)", True)


# ------------------------------------------------------------- discovery

def discovery():
    url = get_well_known_url(BASE, external=True)
    r = requests.get(url, timeout=TIMEOUT)
    r.raise_for_status()
    meta = OpenIDProviderMetadata(r.json())
    try:
        meta.validate(
            metadata_classes=[rpinitiated.OpenIDProviderMetadata, rfc9207.AuthorizationServerMetadata]
        )
        ok, detail = True, ""
    except Exception as e:  # noqa: BLE001
        ok, detail = False, f"{type(e).__name__}: {e}"
    check("discovery document valid for authlib (OpenID Discovery, RFC 8414, RP-initiated, RFC 9207)", ok, detail)
    check("issuer is the public base URL", meta["issuer"] == BASE, meta.get("issuer"))
    check(
        "S256 PKCE, code flow and RS256/ES256 advertised",
        meta.get("code_challenge_methods_supported") == ["S256"]
        and "code" in meta["response_types_supported"]
        and {"RS256", "ES256"} <= set(meta["id_token_signing_alg_values_supported"]),
        dict(meta),
    )
    state["meta"] = meta

    jwks = requests.get(meta["jwks_uri"], timeout=TIMEOUT).json()
    keys = JsonWebKey.import_key_set(jwks)
    algs = {k.get("alg") for k in jwks["keys"]}
    private = [k for k in jwks["keys"] if "d" in k or "p" in k]
    check(
        "JWKS imports in authlib, has RS256 and ES256 keys, no private parts",
        {"RS256", "ES256"} <= algs and not private and all(k.get("kid") for k in jwks["keys"]),
        jwks,
    )
    state["jwks"] = keys


# --------------------------------------------------------------- helpers

def client_for(kind):
    meta = state["meta"]
    if kind == "conf":
        cid, secret = state["conf"]
        return OAuth2Session(
            client_id=cid,
            client_secret=secret,
            scope=SCOPE,
            redirect_uri=RP,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            revocation_endpoint_auth_method="client_secret_basic",
            token_endpoint=meta["token_endpoint"],
            default_timeout=TIMEOUT,
        )
    return OAuth2Session(
        client_id=state["public"],
        scope=SCOPE,
        redirect_uri=RP,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        revocation_endpoint_auth_method="none",
        token_endpoint=meta["token_endpoint"],
        default_timeout=TIMEOUT,
    )


def authorize(client, browser):
    """Builds the authorization URL with authlib (PKCE S256, nonce), follows it
    with the logged-in browser without following to the client; returns
    (redirect location, state, nonce, verifier, response)."""
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, st = client.create_authorization_url(
        state["meta"]["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    r = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    return r.headers.get("location", ""), st, nonce, verifier, r


def code_flow(kind, browser, label):
    client = client_for(kind)
    loc, st, nonce, verifier, r = authorize(client, browser)
    q = query_of(loc)
    check(
        f"{label}: /oidc/authorize answers 303 to the redirect URI with code, state and iss (RFC 9207)",
        r.status_code in (302, 303)
        and loc.startswith(RP + "?")
        and q.get("code")
        and q.get("state") == st
        and q.get("iss") == state["meta"]["issuer"],
        f"HTTP {r.status_code} location={loc!r} body={r.text[:300]!r}",
    )
    token = client.fetch_token(
        state["meta"]["token_endpoint"], authorization_response=loc, state=st, code_verifier=verifier
    )
    check(
        f"{label}: fetch_token (authorization_code + code_verifier) gives access, ID and refresh tokens",
        all(token.get(k) for k in ("access_token", "id_token", "refresh_token"))
        and token.get("token_type", "").lower() == "bearer",
        {k: (v[:20] + "..." if isinstance(v, str) else v) for k, v in token.items()},
    )
    return client, token, nonce, verifier


def validate_id_token(id_token, client_id, nonce, access_token, alg):
    """authlib.jose: signature against the JWKS (only RS256/ES256 accepted),
    then the ID token claims (iss, aud, exp, iat, nonce, azp, auth_time)."""
    jwt = JsonWebToken(["RS256", "ES256"])
    claims = jwt.decode(
        id_token,
        key=state["jwks"],
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": state["meta"]["issuer"]},
            "aud": {"essential": True, "value": client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    problems = []
    if claims.header.get("alg") != alg:
        problems.append(f"alg {claims.header.get('alg')} != {alg}")
    if claims["iss"] != BASE:
        problems.append("iss")
    aud = claims["aud"]
    if aud != client_id and aud != [client_id]:
        problems.append("aud")
    if nonce is not None and claims.get("nonce") != nonce:
        problems.append("nonce")
    if not (time.time() < claims["exp"] <= time.time() + 24 * 3600):
        problems.append(f"exp {claims['exp']}")
    return claims, problems


def profile_claims_ok(c):
    implied = [p.get("application") for p in c.get("implied_profiles", [])]
    return (
        c.get("fiscal_number") == LUCA
        and c.get("https://attributes.eid.gov.it/fiscal_number") == f"TINIT-{LUCA}"
        and c.get("family_name") == "Neri"
        and c.get("given_name") == "Luca"
        and c.get("profile", {}).get("application") == "PTT"
        and isinstance(c.get("profile", {}).get("capabilities"), list)
        and "TELECONTENZIOSO" in implied
        and c.get("organization", {}).get("code")
    )


def userinfo(access_token):
    return requests.get(
        state["meta"]["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )


def introspect(client, token):
    r = client.introspect_token(state["meta"]["introspection_endpoint"], token=token)
    return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else {})


def oauth_error(fn):
    try:
        fn()
        return None
    except OAuthError as e:
        return e.error


# -------------------------------------------------------- confidential RS256

def confidential():
    cid, _ = state["conf"]
    browser = state["luca"]

    # PKCE is enforced: a wrong verifier is refused and the code stays usable.
    client = client_for("conf")
    loc, st, nonce, verifier, _ = authorize(client, browser)
    err = oauth_error(
        lambda: client.fetch_token(
            state["meta"]["token_endpoint"], authorization_response=loc, state=st, code_verifier="W" * 50
        )
    )
    check("PKCE: a wrong code_verifier is refused (invalid_grant)", err == "invalid_grant", err)
    tok = client.fetch_token(
        state["meta"]["token_endpoint"], authorization_response=loc, state=st, code_verifier=verifier
    )
    check("PKCE: the same code then works with the right verifier", bool(tok.get("id_token")))

    client, token, nonce, verifier = code_flow("conf", browser, "confidential RS256")
    claims, problems = validate_id_token(token["id_token"], cid, nonce, token["access_token"], "RS256")
    check("RS256 ID token: signature (JWKS) and claims.validate(); iss, aud, nonce, exp", not problems, problems)
    check(
        "RS256 ID token: profile claims (fiscal_number, profile PTT, implied Telecontenzioso, organization)",
        profile_claims_ok(claims),
        dict(claims),
    )
    sub = claims["sub"]
    state["sub"] = sub

    # The access token is a JWT (RFC 9068 style) verifiable against the same JWKS.
    at = JsonWebToken(["RS256"]).decode(token["access_token"], key=state["jwks"])
    at.validate(leeway=5)
    check(
        "access token: at+jwt signed RS256 by a published key, for this client and subject",
        at.header.get("typ") == "at+jwt" and at["client_id"] == cid and at["sub"] == sub,
        (at.header, dict(at)),
    )

    r = userinfo(token["access_token"])
    ui = r.json() if r.status_code == 200 else {}
    check(
        "userinfo (Bearer): same sub and profile claims as the ID token",
        r.status_code == 200 and ui.get("sub") == sub and profile_claims_ok(ui),
        f"HTTP {r.status_code}: {r.text[:500]}",
    )
    r = client.get(state["meta"]["userinfo_endpoint"])
    check("userinfo through OAuth2Session's token auth", r.status_code == 200 and r.json().get("sub") == sub, r.text[:300])

    code, v = introspect(client, token["access_token"])
    check(
        "introspection (RFC 7662) of the access token: active, sub, client_id",
        code == 200 and v.get("active") is True and v.get("sub") == sub and v.get("client_id") == cid,
        (code, v),
    )
    code, v = introspect(client, token["refresh_token"])
    check("introspection of the refresh token: active", code == 200 and v.get("active") is True, (code, v))

    # Refresh rotation.
    old_rt = token["refresh_token"]
    old_at = token["access_token"]
    new = client.refresh_token(state["meta"]["token_endpoint"], refresh_token=old_rt)
    new_rt, new_at = new.get("refresh_token"), new.get("access_token")
    check("refresh_token grant rotates the refresh token", new_rt and new_rt != old_rt, new)
    claims2, problems = validate_id_token(new["id_token"], cid, None, new_at, "RS256")
    check(
        "refreshed ID token validates, same sub",
        not problems and claims2["sub"] == sub,
        (problems, dict(claims2)),
    )
    check("new access token works at userinfo", userinfo(new_at).status_code == 200)
    code, v = introspect(client, old_rt)
    check("rotated (old) refresh token is inactive at introspection", v.get("active") is False, (code, v))

    # Reuse of the old refresh token: refused, and the whole family revoked.
    err = oauth_error(lambda: client_for("conf").refresh_token(state["meta"]["token_endpoint"], refresh_token=old_rt))
    check("reuse of the old refresh token -> invalid_grant", err == "invalid_grant", err)
    err = oauth_error(lambda: client_for("conf").refresh_token(state["meta"]["token_endpoint"], refresh_token=new_rt))
    check("family revoked: the newest refresh token -> invalid_grant", err == "invalid_grant", err)
    code, v = introspect(client, new_rt)
    check("family revoked: newest refresh token inactive at introspection", v.get("active") is False, (code, v))
    code, v = introspect(client, new_at)
    check("family revoked: newest access token inactive at introspection", v.get("active") is False, (code, v))
    r = userinfo(new_at)
    check(
        "family revoked: newest access token refused at userinfo (401, WWW-Authenticate Bearer)",
        r.status_code == 401 and "Bearer" in r.headers.get("www-authenticate", ""),
        f"HTTP {r.status_code} {r.headers.get('www-authenticate')}",
    )
    check("family revoked: first access token refused at userinfo", userinfo(old_at).status_code == 401)

    # Revocation (RFC 7009) of a fresh grant through its refresh token.
    client, token, nonce, _ = code_flow("conf", browser, "confidential, second grant")
    r = client.revoke_token(state["meta"]["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token")
    check("revocation (RFC 7009) of the refresh token: 200", r.status_code == 200, f"HTTP {r.status_code} {r.text[:300]}")
    code, v = introspect(client, token["refresh_token"])
    check("revoked refresh token inactive at introspection", v.get("active") is False, (code, v))
    code, v = introspect(client, token["access_token"])
    check("its grant's access token inactive too", v.get("active") is False, (code, v))
    check("its grant's access token refused at userinfo", userinfo(token["access_token"]).status_code == 401)
    err = oauth_error(lambda: client_for("conf").refresh_token(state["meta"]["token_endpoint"], refresh_token=token["refresh_token"]))
    check("revoked refresh token -> invalid_grant at the token endpoint", err == "invalid_grant", err)

    # Revocation through the access token.
    client, token, nonce, _ = code_flow("conf", browser, "confidential, third grant")
    r = client.revoke_token(state["meta"]["revocation_endpoint"], token=token["access_token"], token_type_hint="access_token")
    check(
        "revocation of an access token: 200, then inactive at introspection and userinfo",
        r.status_code == 200
        and introspect(client, token["access_token"])[1].get("active") is False
        and userinfo(token["access_token"]).status_code == 401,
        f"HTTP {r.status_code}",
    )
    r = client.revoke_token(state["meta"]["revocation_endpoint"], token="no-such-token")
    check("revocation of an unknown token: 200 (RFC 7009 §2.2)", r.status_code == 200, f"HTTP {r.status_code}")
    bad = OAuth2Session(client_id=cid, client_secret="wrong", token_endpoint_auth_method="client_secret_basic")
    r = bad.introspect_token(state["meta"]["introspection_endpoint"], token=token["access_token"])
    check("introspection with a wrong client secret: 401 invalid_client", r.status_code == 401 and r.json().get("error") == "invalid_client", f"HTTP {r.status_code} {r.text[:200]}")


# ------------------------------------------------------------ public ES256

def public():
    cid = state["public"]
    client, token, nonce, _ = code_flow("public", state["luca"], "public ES256 (token_endpoint_auth_method none)")
    claims, problems = validate_id_token(token["id_token"], cid, nonce, token["access_token"], "ES256")
    check("ES256 ID token: signature (JWKS) and claims.validate(); iss, aud, nonce, exp", not problems, problems)
    check("ES256 ID token: same sub as the confidential client's", claims["sub"] == state.get("sub"), dict(claims))
    check("public client's access token works at userinfo", userinfo(token["access_token"]).status_code == 200)
    new = client.refresh_token(state["meta"]["token_endpoint"], refresh_token=token["refresh_token"])
    claims2, problems = validate_id_token(new["id_token"], cid, None, new["access_token"], "ES256")
    check("public client: refresh rotation, refreshed ES256 ID token validates", not problems and new["refresh_token"] != token["refresh_token"], problems)

    # A public client cannot skip PKCE.
    url, _ = client_for("public").create_authorization_url(state["meta"]["authorization_endpoint"], nonce="n")
    r = state["luca"].get(url, allow_redirects=False, timeout=TIMEOUT)
    q = query_of(r.headers.get("location", ""))
    check("public client without PKCE: error invalid_request to the redirect URI, no code", q.get("error") == "invalid_request" and "code" not in q, r.headers.get("location"))


# --------------------------------------------------------------- refusals

def not_enabled():
    anna = portal_login(ANNA)
    client = client_for("conf")
    loc, st, nonce, verifier, r = authorize(client, anna)
    check(
        "Anna Verdi (only Telecontenzioso) at the PTT client: 403 page, no redirect, no code",
        r.status_code == 403 and not loc and "Non sei abilitato" in r.text and "code=" not in r.text,
        f"HTTP {r.status_code} location={loc!r}",
    )
    url, _ = client.create_authorization_url(
        state["meta"]["authorization_endpoint"], code_verifier=generate_token(64), nonce="n", redirect_uri="https://evil.example/cb"
    )
    r = state["luca"].get(url, allow_redirects=False, timeout=TIMEOUT)
    check("unregistered redirect_uri: 400 page, never a redirect", r.status_code == 400 and "location" not in r.headers, f"HTTP {r.status_code}")
    anon = requests.Session()
    url, _ = client.create_authorization_url(state["meta"]["authorization_endpoint"], code_verifier=generate_token(64), nonce="n")
    r = anon.get(url, allow_redirects=False, timeout=TIMEOUT)
    check("not logged in: sent to /accedi with next= back to /oidc/authorize", r.status_code == 303 and r.headers.get("location", "").startswith("/accedi?next=%2Foidc%2Fauthorize"), r.headers.get("location"))


# ----------------------------------------------------------------- logout

def logout():
    cid, _ = state["conf"]
    browser = state["luca"]
    client, token, nonce, _ = code_flow("conf", browser, "confidential, before logout")
    end = state["meta"]["end_session_endpoint"]
    url = add_params_to_uri(end, {"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/", "state": "s0"})
    r = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    check("logout to an unregistered post_logout_redirect_uri: 400, no redirect", r.status_code == 400 and "location" not in r.headers, f"HTTP {r.status_code}")
    st = generate_token(16)
    url = add_params_to_uri(end, {"id_token_hint": token["id_token"], "post_logout_redirect_uri": RP_BYE, "state": st})
    r = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    check(
        "RP-initiated logout (id_token_hint): 303 to the registered post_logout_redirect_uri with state",
        r.status_code in (302, 303) and r.headers.get("location") == f"{RP_BYE}?state={st}",
        f"HTTP {r.status_code} location={r.headers.get('location')!r}",
    )
    check("after logout the session's access token is refused at userinfo", userinfo(token["access_token"]).status_code == 401)
    code, v = introspect(client, token["refresh_token"])
    check("after logout the session's refresh token is inactive", v.get("active") is False, (code, v))
    url, _ = client.create_authorization_url(state["meta"]["authorization_endpoint"], code_verifier=generate_token(64), nonce="n")
    r = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    check("after logout the portal session is over (authorize sends to /accedi)", r.headers.get("location", "").startswith("/accedi?next="), r.headers.get("location"))


section("setup", setup)
if "conf" in state and "luca" in state:
    section("discovery", discovery)
if "meta" in state:
    section("confidential client", confidential)
    section("public client", public)
    section("user not enabled", not_enabled)
    section("logout", logout)

print()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
