"""A small OpenID Connect provider for the single sign-on tests, served over real HTTP.

Discovery, a JWKS with an RSA key generated here, an authorize endpoint that signs in
``Provider.person`` at once and redirects back with a code, and a token endpoint that checks
the client's secret, the code (once only), the redirect URI and the PKCE verifier before
returning a signed ID token.  ``Provider.tamper`` makes it misbehave in one named way.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from html import escape
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from tests.platform.live_server import free_port

PAGE_PASSWORD = "corp-password"
SIGN_IN_PAGE = """<!doctype html><html lang="en"><title>Corp sign-in</title><h1>Corp sign-in</h1>
<form method="post" action="/authorize"><p>Signing in to {client}</p>{hidden}
<label for="password">Corp password for {email}</label><input id="password" name="password" type="password">
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Deny</button></form></html>"""

#: Ways to misbehave: sign with a key not in the JWKS, send another nonce, audience or issuer,
#: an ID token that expired, or refuse consent.
TAMPERINGS = ("signature", "nonce", "audience", "issuer", "expired", "deny")


class Provider:
    def __init__(self):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = "community-test"
        self.client_secret = secrets.token_urlsafe(16)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)
        #: Same key id, another key: a token it signs must not verify.
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": "test-key"}, private=True)
        self.person = {"sub": "emp-1001", "email": "pat@corp.example", "email_verified": True,
                       "preferred_username": "pat", "name": "Pat Doe"}
        self.tamper: str | None = None
        #: Show a sign-in page (password ``PAGE_PASSWORD``, then Allow) instead of signing in at once:
        #: what a browser journey goes through.
        self.interactive = False
        self.codes: dict[str, dict] = {}
        self.token_requests = 0
        #: The query of each RP-initiated logout received.
        self.logouts: list[dict] = []
        #: Where discovery says the end-session page is: the issuer's origin, or another one
        #: (``http://localhost:<port>``: the same server under another origin).
        self.logout_base = self.issuer
        self.app = self._build()
        self.server = None

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _build(self) -> Flask:
        app = Flask("oidc_provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.issuer, authorization_endpoint=f"{self.issuer}/authorize",
                           token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/jwks",
                           response_types_supported=["code"], subject_types_supported=["public"],
                           id_token_signing_alg_values_supported=["RS256"],
                           code_challenge_methods_supported=["S256"],
                           token_endpoint_auth_methods_supported=["client_secret_basic"],
                           end_session_endpoint=f"{self.logout_base}/logout")

        @app.get("/logout")
        def end_session():
            self.logouts.append(dict(request.args))
            return redirect(request.args["post_logout_redirect_uri"])

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            args = request.values
            if args.get("client_id") != self.client_id or args.get("response_type") != "code":
                return "unknown client", 400
            if self.interactive and request.method == "GET":
                hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in args.items())
                return SIGN_IN_PAGE.format(client=escape(self.client_id), hidden=hidden,
                                           email=escape(self.person["email"]))
            if self.interactive and request.form.get("password") != PAGE_PASSWORD \
                    and request.form.get("decision") != "deny":
                return "wrong password", 401
            back = args["redirect_uri"]
            if self.tamper == "deny" or request.form.get("decision") == "deny":
                return redirect(f"{back}?{urlencode({'error': 'access_denied', 'state': args['state']})}")
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"redirect_uri": back, "nonce": args.get("nonce"), "person": dict(self.person),
                                "challenge": args.get("code_challenge"),
                                "method": args.get("code_challenge_method"), "used": False}
            return redirect(f"{back}?{urlencode({'code': code, 'state': args['state']})}")

        @app.post("/token")
        def token():
            self.token_requests += 1
            auth = request.authorization
            if not auth or auth.username != self.client_id or auth.password != self.client_secret:
                return jsonify(error="invalid_client"), 401
            grant = self.codes.get(request.form.get("code", ""))
            if grant is None or grant["used"] or grant["redirect_uri"] != request.form.get("redirect_uri"):
                return jsonify(error="invalid_grant"), 400
            grant["used"] = True
            verifier = request.form.get("code_verifier", "")
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant["method"] != "S256" or expected != grant["challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE verifier does not match"), 400
            return jsonify(access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=300,
                           id_token=self.id_token(grant))

        return app

    def id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], **grant["person"]}
        if self.tamper == "nonce":
            claims["nonce"] = "not-the-one-sent"
        elif self.tamper == "audience":
            claims["aud"] = "another-client"
        elif self.tamper == "issuer":
            claims["iss"] = "http://127.0.0.1:1"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        key = self.rogue_key if self.tamper == "signature" else self.key
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
