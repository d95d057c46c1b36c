"""Single sign-on by OpenID Connect: employees log in with the municipality's own identity
provider (Entra ID, AD FS, Keycloak, ...), through authlib's Starlette client.

The authorisation code flow with PKCE: /login/oidc sends the browser to the provider with a
fresh state, nonce and S256 code challenge, which authlib keeps in the signed session cookie;
/login/oidc/svar takes the code back, refuses a state this browser was not given, exchanges
the code together with the verifier (the provider refuses a code made for another
challenge), and verifies the ID token: its signature by the provider's published keys
(JWKS), issuer, audience (our client id), expiry and nonce.

The person is matched by issuer and subject alone ("sub": stable, where names, addresses and
usernames change). Their role, bodies and centre come from the groups claim by the
organisation file's [oidc] section, afresh on every login; someone in no mapped group is
refused and nothing is written. An ID token without the groups claim is completed from the
provider's userinfo endpoint (AD FS and many Keycloak realms send groups only there); one
that points to the groups elsewhere instead (Entra ID's "groups overage", for someone in too
many groups) is refused with what the administrator should configure: we do not ask
Microsoft Graph. A first login creates the user, without a password. The
session that follows is the ordinary revocable one (web.auth.log_in), and logging out ends
it like any other and then, if the provider has an end-session endpoint, ends the login there.

The other way round, by OpenID Connect Back-Channel Logout 1.0: when the login ends at the
provider, it posts a logout token (a JWT it signed) to BACKCHANNEL, server to server, and
every session of that person here ends.
"""

import logging
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import authlib.deprecate  # noqa: F401  (sets its warning filter before ours below)
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from joserfc import jwt
from joserfc.errors import InvalidClaimError, InvalidKeyIdError, JoseError, MissingClaimError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlmodel import Session, select

from cases.clock import wall_now
from cases.models import User
from cases.organisation import OidcMapping
from cases.settings import SettingsError, current_organisation, get_settings
from web import users
from web.auth import log_in, write
from web.rendering import flash, redirect, safe_path
from workflow.errors import InvalidInput, NotFound

with warnings.catch_warnings():
    # authlib prefers the newer httpx2 and says at import that httpx is deprecated; httpx is
    # the HTTP client this project has (starlette's test client too), and authlib uses it.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.starlette_client import OAuth, OAuthError
try:  # the HTTP client authlib talks to the provider with: its errors are that module's
    import httpx2 as http
except ImportError:
    import httpx as http

log = logging.getLogger("sagsgang.web.oidc")
router = APIRouter(include_in_schema=False)

START = "/login/oidc"
CALLBACK = "/login/oidc/svar"
BACKCHANNEL = "/login/oidc/backchannel"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token older than this is refused: a replayed one must not end the sessions begun
# after it (the provider sends it the moment the login ends there).
LOGOUT_TOKEN_MAX_AGE = 5 * 60
CLOCK_LEEWAY = 60  # seconds the provider's clock may be ahead of ours
SCOPE = "openid profile email"
TIMEOUT_SECONDS = 10  # a provider that does not answer: the login is refused, not hung
_NOT_A_USERNAME = re.compile(r"[^\w.@-]+")


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    mapping: OidcMapping


def configured() -> Provider | None:
    """The identity provider of this installation, or None (no single sign-on)."""
    settings, mapping = get_settings(), current_organisation().oidc
    issuer = (settings.oidc_issuer or mapping.issuer).rstrip("/")
    if not issuer:
        return None
    client_id = settings.oidc_client_id or mapping.client_id
    if not client_id or not settings.oidc_client_secret:
        raise SettingsError("Log ind via kommunens identitetsudbyder kræver både "
                            "SAGSGANG_OIDC_CLIENT_ID (eller client_id i [oidc]) og "
                            "SAGSGANG_OIDC_CLIENT_SECRET.")
    return Provider(issuer, client_id, settings.oidc_client_secret, mapping)


def check_settings() -> None:
    """At start (create_app): a half-configured provider, or no way to log in at all, stops
    the app with a message."""
    provider = configured()
    if provider is None and not get_settings().local_login:
        raise SettingsError("SAGSGANG_LOCAL_LOGIN=false slår adgangskoderne fra, men der er "
                            "ingen identitetsudbyder (SAGSGANG_OIDC_ISSUER): ingen ville "
                            "kunne logge ind.")


def provider_origin() -> str | None:
    """The provider's scheme://host[:port] (the security policy lets forms end there)."""
    provider = configured()
    if provider is None:
        return None
    parts = urlsplit(provider.issuer)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=4)
def _client(provider: Provider):
    """authlib's client for this provider; one per process, so the provider's metadata and
    keys are fetched once (and the keys again when the provider rotates them)."""
    oauth = OAuth()
    return oauth.register(
        "kommune", client_id=provider.client_id, client_secret=provider.client_secret,
        server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                       "timeout": TIMEOUT_SECONDS})


def _provider() -> Provider:
    provider = configured()
    if provider is None:
        raise NotFound("Log ind via kommunens identitetsudbyder er ikke sat op.")
    return provider


@router.get(START)
async def start(request: Request, next: str = "/"):
    """Off to the provider's login page; it sends the browser back to CALLBACK."""
    provider = _provider()
    request.session["oidc_next"] = safe_path(next)
    try:
        return await _client(provider).authorize_redirect(
            request, get_settings().site_url + CALLBACK)
    except http.HTTPError as error:
        log.warning("identity provider unreachable: %s", error)
        return _refuse(request, _UNREACHABLE)


@router.get(CALLBACK)
async def callback(request: Request):
    provider = _provider()
    org = current_organisation()
    try:
        token = await _client(provider).authorize_access_token(
            request, claims_options={"iss": {"essential": True, "values": [provider.issuer]},
                                     "exp": {"essential": True}})
    except http.HTTPError as error:
        log.warning("identity provider unreachable: %s", error)
        return _refuse(request, _UNREACHABLE)
    except (OAuthError, JoseError) as error:  # wrong state, code, verifier, token, signature
        log.warning("OpenID Connect login refused: %s", error)
        return _refuse(request, f"Login via {org.name} blev afvist. Prøv igen fra "
                                "login-siden.")
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):  # no (verified) ID token: not OpenID Connect
        log.warning("OpenID Connect login without an ID token")
        return _refuse(request, f"Login via {org.name} blev afvist. Prøv igen fra "
                                "login-siden.")
    next_path = request.session.get("oidc_next", "/")
    try:
        claims = await _with_userinfo(provider, token, dict(claims))
    except http.HTTPError as error:
        log.warning("identity provider's userinfo endpoint failed: %s", error)
        return _refuse(request, _UNREACHABLE)
    except InvalidInput as refusal:
        return _refuse(request, refusal.message)
    try:
        with write(request) as session:
            user = sign_in(session, provider, claims)
    except InvalidInput as refusal:
        return _refuse(request, refusal.message)
    log_in(request, user)
    request.session["oidc"] = True  # logging out also ends the login at the provider
    return redirect(safe_path(next_path))


_UNREACHABLE = "Kommunens login svarer ikke lige nu. Prøv igen om lidt."


async def _with_userinfo(provider: Provider, token: dict, claims: dict) -> dict:
    """The ID token's claims, completed from the provider's userinfo endpoint (asked with
    the access token) when they lack the mapped claim: AD FS and many Keycloak realms send
    the groups, and sometimes name and e-mail, only there. Not asked when the ID token says
    the claim is kept elsewhere (Entra ID's groups overage: sign_in refuses that)."""
    claim = provider.mapping.claim
    if claim in claims or _overage(claims, claim):
        return claims
    client = _client(provider)
    if not (await client.load_server_metadata()).get("userinfo_endpoint"):
        return claims
    try:
        found = dict(await client.userinfo(token=token))
    except ValueError:  # not JSON: a signed (JWT) userinfo answer, which we do not read
        log.warning("OpenID Connect userinfo answer is not JSON (signed userinfo is not "
                    "supported) for subject %s", claims["sub"])
        found = {}
    if found and str(found.get("sub")) != str(claims["sub"]):
        # OpenID Connect Core 5.3.2: another person's answer must not be used.
        log.warning("OpenID Connect userinfo names subject %r, the ID token %r",
                    found.get("sub"), claims["sub"])
        raise InvalidInput(f"Login via {current_organisation().name} blev afvist. Prøv "
                           "igen fra login-siden.")
    return {**found, **claims}  # what the verified ID token says stands


def _overage(claims: dict, claim: str) -> bool:
    """Whether the claim is not sent but pointed to (`_claim_names`, OpenID Connect Core
    5.6.2): Entra ID does so for someone in more groups than fit in a token."""
    names = claims.get("_claim_names")
    return isinstance(names, dict) and claim in names


def _refuse(request: Request, message: str) -> RedirectResponse:
    flash(request, message, "error")
    return redirect("/login")


def sign_in(session: Session, provider: Provider, claims: dict) -> User:
    """The user these verified claims name (created at the first login), with role, bodies
    and centre from their groups; InvalidInput (nothing written) if they get no access."""
    org, mapping = current_organisation(), provider.mapping
    if mapping.claim not in claims and _overage(claims, mapping.claim):
        log.warning("OpenID Connect login of subject %s refused: the %r claim is not in the "
                    "token but kept elsewhere (Entra ID's groups overage: more groups than a "
                    "token holds); configure the application to emit only the groups "
                    "assigned to it, or app roles", claims["sub"], mapping.claim)
        raise InvalidInput(f"Login via {org.name} kunne ikke gennemføres: din konto er med i "
                           f"så mange grupper, at {org.name}s login ikke sender dem med. Bed "
                           "kommunens it-administrator om at indstille appen hos "
                           "identitetsudbyderen til kun at sende de grupper, der er tildelt "
                           "appen (i Entra ID: »Groups assigned to the application«), eller "
                           "til at bruge app-roller.")
    groups = _groups(claims.get(mapping.claim))
    role = mapping.role_for(groups)
    if role is None:
        raise InvalidInput(f"Du har ikke adgang til sagsgang: din konto hos {org.name} er "
                           "ikke med i nogen af de grupper, der giver adgang. Kontakt "
                           "sekretariatet, hvis du skal have adgang.")
    user = session.exec(select(User).where(User.oidc_issuer == provider.issuer,
                                           User.oidc_subject == str(claims["sub"]))).first()
    if user is not None and not user.active:
        raise InvalidInput("Din bruger i sagsgang er deaktiveret. Kontakt en administrator.")
    name = claims.get("name") or " ".join(
        part for part in (claims.get("given_name"), claims.get("family_name")) if part)
    if user is None:
        user = User(username=_free_username(session, claims), name="-", email="-",
                    role=role, oidc_issuer=provider.issuer, oidc_subject=str(claims["sub"]))
        session.add(user)
        try:
            with session.begin_nested():
                session.flush()
        except sa.exc.IntegrityError:  # the same person's first login twice at once
            raise InvalidInput("Login kunne ikke gennemføres. Prøv igen.") from None
    try:
        return users.update_user(session, user.id, name=str(name or ""),
                                 email=str(claims.get("email") or ""), role=role,
                                 centre=mapping.centre_for(groups),
                                 bodies=mapping.bodies_for(groups))
    except InvalidInput as problem:  # the provider's name or address is not usable
        raise InvalidInput(f"Login via {org.name} kunne ikke gennemføres: {problem.message} "
                           "Kontakt sekretariatet.") from None


def _groups(value) -> set[str]:
    """The groups claim: a list (Entra ID, Keycloak) or one space-separated text."""
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list):
        return {str(group) for group in value}
    return set()


def _free_username(session: Session, claims: dict) -> str:
    """A username for a new user: the provider's own (preferred_username, else the e-mail
    address), made safe; with -2, -3 ... if a local user already has it (never merged)."""
    wanted = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
    base = _NOT_A_USERNAME.sub("-", wanted).strip("-")[:users.MAX_USERNAME - 4] or "bruger"
    candidate, number = base, 1
    while session.exec(select(User.id).where(
            sa.func.lower(User.username) == candidate.lower())).first() is not None:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


async def end_session_url(request: Request) -> str | None:
    """Where logging out sends the browser after this session ended: the provider's
    end-session page (it ends the login there and comes back to our login page), for a
    session begun through the provider that has one; else None (our login page)."""
    provider = configured()
    if provider is None or not request.session.get("oidc"):
        return None
    client = _client(provider)
    try:
        metadata = await client.load_server_metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        found = await client.create_logout_url(
            post_logout_redirect_uri=get_settings().site_url + "/login",
            client_id=provider.client_id)
    except http.HTTPError as error:  # our session ends all the same
        log.warning("identity provider unreachable at logout: %s", error)
        return None
    return found["url"]


# -- back-channel logout (OpenID Connect Back-Channel Logout 1.0) ---------------------------

@router.post(BACKCHANNEL)
async def backchannel_logout(request: Request):
    """The provider tells us, server to server, that a person's login there has ended: a
    logout token (a JWT it signed) in a form post. No login and no CSRF token: the
    signature by the provider's keys is the permission. Every session of that person here
    ends (their API keys stay, as on logging out); 400 for a token that does not hold.
    Answered in plain text, never a page or a redirect: no browser comes here."""
    provider = configured()
    if provider is None:
        return _answer(404, "no single sign-on configured")
    token = (await request.form()).get("logout_token")
    try:
        subject = logout_subject(await _verified(provider, token), provider,
                                 int(wall_now().timestamp()))
    except http.HTTPError as error:
        log.warning("back-channel logout: identity provider's keys unreachable: %s", error)
        return _answer(503, "identity provider's keys unreachable")
    except (JoseError, ValueError) as error:
        log.warning("back-channel logout refused: %s", error)
        return _answer(400, "invalid logout_token")
    with write(request) as session:
        user = session.exec(select(User).where(User.oidc_issuer == provider.issuer,
                                               User.oidc_subject == subject)).first()
        if user is not None:
            users.end_sessions(session, user, api_keys=False)
    log.info("back-channel logout of subject %s: %s", subject,
             "every session ended" if user else "no such user here")
    return _answer(200, "")


def _answer(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text, status, headers={"cache-control": "no-store"})


async def _verified(provider: Provider, token) -> dict:
    """The logout token's claims, once its signature by the provider's published keys
    (JWKS) holds; keys fetched again once for a key id not known yet (a rotation)."""
    if not isinstance(token, str) or not token:
        raise ValueError("no logout_token sent")
    client = _client(provider)
    metadata = await client.load_server_metadata()
    registry = JWSRegistry(algorithms=metadata.get("id_token_signing_alg_values_supported")
                           or ["RS256"])
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(await client.fetch_jwk_set()),
                             registry=registry)
    except InvalidKeyIdError:
        decoded = jwt.decode(token, KeySet.import_key_set(
            await client.fetch_jwk_set(force=True)), registry=registry)
    return decoded.claims


def logout_subject(claims: dict, provider: Provider, now: int) -> str:
    """The subject whose sessions a verified logout token ends, once its claims hold
    (Back-Channel Logout 1.0, 2.6): our issuer, our client id among its audiences, issued
    lately, the logout event, a subject, and no nonce (an ID token is no logout token).
    A token with only a session id ("sid") is refused: we end sessions by person."""
    jwt.JWTClaimsRegistry(
        now=now, leeway=CLOCK_LEEWAY, iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id}, iat={"essential": True},
        sub={"essential": True}).validate(claims)
    if claims["iat"] < now - LOGOUT_TOKEN_MAX_AGE:
        raise InvalidClaimError("iat", "the logout token is too old")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise MissingClaimError("events (backchannel-logout)")
    if "nonce" in claims:
        raise InvalidClaimError("nonce", "a logout token carries no nonce")
    return claims["sub"]
