#!/usr/bin/python3
"""A pysaml2 service provider for Gatehouse's interop tests (Debian python3-pysaml2).

  pysaml2_sp.py request STATE_DIR BINDING [RELAY_STATE] [OPTION...]
      prints {"binding", "url"} (HTTP-Redirect) or {"binding", "action", "fields"} (HTTP-POST),
      and "id", the AuthnRequest ID, which is remembered as outstanding in STATE_DIR.
      OPTIONs (SAML core §3.4.1), made into the AuthnRequest by pysaml2 itself:
        --passive                       IsPassive="true"
        --force                         ForceAuthn="true"
        --nameid-format=URI             <NameIDPolicy Format=URI AllowCreate="true">
        --authn-context=CMP:URI[,URI]   <RequestedAuthnContext Comparison=CMP> with those classes
        --acs-index=N                   AssertionConsumerServiceIndex=N instead of the ACS URL
  pysaml2_sp.py logout STATE_DIR DESTINATION NAME_ID NAME_ID_FORMAT SESSION_INDEX|- [RELAY_STATE]
      prints {"id", "url"}: a LogoutRequest made by pysaml2 (create_logout_request), signed over
      HTTP-Redirect with RSA-SHA256 (apply_binding), for the given principal and session index.
  pysaml2_sp.py logout-response STATE_DIR URL
      reads the LogoutResponse carried by a redirect URL: checks its query signature against the
      IdP's certificate in idp.xml (verify_redirect_signature), has pysaml2 parse it
      (parse_logout_request_response), prints status codes, InResponseTo, Issuer, Destination.
  pysaml2_sp.py metadata STATE_DIR
      prints the SP's metadata as pysaml2 writes it (ACS endpoints indexed from 1, in config order).
  pysaml2_sp.py response STATE_DIR RESPONSE_FILE
      reads a base64 SAMLResponse, has pysaml2 check it (XML signatures with xmlsec1, Audience,
      Recipient/Destination, InResponseTo against the outstanding request, validity), prints what
      it found as JSON, or exits 2 with the reason: the class name of pysaml2's exception, which
      for a non-success status names the status (StatusNoPassive, StatusInvalidNameidPolicy,
      StatusNoAuthnContext, ...), with "status" and "status_message" read from the response.

STATE_DIR holds idp.xml (Gatehouse's metadata), sp.key and sp.crt, and config.json:
{"entity_id", "acs" (a URL or a list of them), "sign_requests", "slo" (optional: the SP's
single logout URL, HTTP-Redirect)}.
"""
import base64
import json
import os
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.saml import AuthnContextClassRef
from saml2.samlp import RequestedAuthnContext


def client(state):
    with open(os.path.join(state, "config.json")) as f:
        c = json.load(f)
    conf = SPConfig()
    conf.load({
        "entityid": c["entity_id"],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "key_file": os.path.join(state, "sp.key"),
        "cert_file": os.path.join(state, "sp.crt"),
        "metadata": {"local": [os.path.join(state, "idp.xml")]},
        "accepted_time_diff": 5,
        # Attributes outside pysaml2's built-in maps (mail, uid, tier, groups) are kept as sent.
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(a, BINDING_HTTP_POST) for a in ([c["acs"]] if isinstance(c["acs"], str) else c["acs"])],
                    **({"single_logout_service": [(c["slo"], BINDING_HTTP_REDIRECT)]} if c.get("slo") else {}),
                },
                "authn_requests_signed": c.get("sign_requests", False),
                "want_assertions_signed": True,
                "want_response_signed": c.get("want_response_signed", False),
                "allow_unsolicited": c.get("allow_unsolicited", False),
                "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
            }
        },
    })
    return Saml2Client(config=conf)


def outstanding_file(state):
    return os.path.join(state, "outstanding.json")


def request_options(options):
    kwargs = {}
    for o in options:
        if o == "--passive":
            kwargs["is_passive"] = "true"
        elif o == "--force":
            kwargs["force_authn"] = "true"
        elif o.startswith("--nameid-format="):
            kwargs["nameid_format"] = o.split("=", 1)[1]
            kwargs["allow_create"] = "true"
        elif o.startswith("--acs-index="):
            kwargs["assertion_consumer_service_index"] = o.split("=", 1)[1]
        elif o.startswith("--authn-context="):
            comparison, refs = o.split("=", 1)[1].split(":", 1)
            kwargs["requested_authn_context"] = RequestedAuthnContext(
                authn_context_class_ref=[AuthnContextClassRef(text=r) for r in refs.split(",")],
                comparison=comparison)
        else:
            sys.exit("unknown option " + o)
    return kwargs


def request(state, binding_name, relay_state="", options=()):
    cl = client(state)
    with open(os.path.join(state, "config.json")) as f:
        signed = json.load(f).get("sign_requests", False)
    binding = BINDING_HTTP_REDIRECT if binding_name == "redirect" else BINDING_HTTP_POST
    req_id, info = cl.prepare_for_authenticate(binding=binding, relay_state=relay_state,
                                               sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" if signed else None,
                                               **request_options(options))
    with open(outstanding_file(state), "w") as f:
        json.dump({req_id: "/"}, f)
    out = {"id": req_id, "binding": binding_name}
    if binding == BINDING_HTTP_REDIRECT:
        out["url"] = dict(info["headers"])["Location"]
    else:
        # pysaml2 renders an auto-post HTML form; the test reads its fields like a browser would.
        body = info["data"]
        import re
        out["action"] = re.search(r'action="([^"]+)"', body).group(1)
        out["fields"] = {m.group(1): m.group(2) for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)}
    print(json.dumps(out))


def response(state, response_file):
    cl = client(state)
    with open(response_file) as f:
        saml_response = f.read().strip()
    with open(outstanding_file(state)) as f:
        outstanding = json.load(f)
    try:
        r = cl.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=outstanding)
    except Exception as e:  # every refusal of pysaml2 is reported with its class name
        print(json.dumps({"error": type(e).__name__, "detail": str(e)[:300], **status_of(saml_response)}))
        sys.exit(2)
    if r is None:
        print(json.dumps({"error": "None", "detail": "pysaml2 returned no response"}))
        sys.exit(2)
    a = r.assertion
    print(json.dumps({
        "name_id": r.name_id.text,
        "name_id_format": r.name_id.format,
        "issuer": r.issuer(),
        "in_response_to": r.in_response_to,
        "destination": r.response.destination,
        "audience": [aud.text for cond in [a.conditions] for ar in cond.audience_restriction for aud in ar.audience],
        "recipient": a.subject.subject_confirmation[0].subject_confirmation_data.recipient,
        "session_index": a.authn_statement[0].session_index,
        "authn_class": a.authn_statement[0].authn_context.authn_context_class_ref.text,
        "ava": r.ava,
        "assertion_signed": a.signature is not None,
        "response_signed": r.response.signature is not None,
    }))


RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def logout(state, destination, name_id, name_id_format, session_index, relay_state=""):
    from saml2.saml import NameID
    cl = client(state)
    req_id, req = cl.create_logout_request(
        destination, issuer_entity_id=None, name_id=NameID(text=name_id, format=name_id_format),
        session_indexes=[] if session_index == "-" else [session_index], sign=False)
    info = cl.apply_binding(BINDING_HTTP_REDIRECT, str(req), destination, relay_state, sign=True, sigalg=RSA_SHA256)
    print(json.dumps({"id": req_id, "url": dict(info["headers"])["Location"]}))


def logout_response(state, url):
    import re
    from urllib.parse import parse_qs, urlparse
    from saml2.sigver import verify_redirect_signature
    cl = client(state)
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    with open(os.path.join(state, "idp.xml")) as f:
        cert = re.search(r"<(?:\w+:)?X509Certificate>([^<]+)<", f.read()).group(1)
    signature_ok = "Signature" in query and verify_redirect_signature(query, cl.sec.sec_backend, cert=cert)
    # The status as sent, read with pysaml2's classes: pysaml2's parse raises on any non-success
    # status (StatusUnknownPrincipal, ...), which is reported with its class name.
    import zlib
    xml = zlib.decompress(base64.b64decode(query["SAMLResponse"]), -15)
    sent = samlp.logout_response_from_string(xml)
    codes = []
    code = sent.status.status_code
    while code is not None:
        codes.append(code.value)
        code = code.status_code
    out = {
        "signature_ok": bool(signature_ok),
        "sig_alg": query.get("SigAlg"),
        "relay_state": query.get("RelayState"),
        "status": codes,
        "in_response_to": sent.in_response_to,
        "issuer": sent.issuer.text,
        "destination": sent.destination,
    }
    try:
        r = cl.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
        if r is None:
            raise ValueError("pysaml2 returned no response")
    except Exception as e:
        print(json.dumps({**out, "error": type(e).__name__, "detail": str(e)[:300]}))
        sys.exit(2)
    print(json.dumps(out))


def status_of(saml_response):
    """The status codes and message of a response, read with pysaml2's own classes (for the report)."""
    try:
        r = samlp.response_from_string(base64.b64decode(saml_response))
        codes = []
        code = r.status.status_code
        while code is not None:
            codes.append(code.value)
            code = code.status_code
        return {"status": codes, "status_message": r.status.status_message.text if r.status.status_message else None,
                "assertions": len(r.assertion) + len(r.encrypted_assertion)}
    except Exception:  # not a Response at all
        return {}


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "request":
        args = sys.argv[4:]
        relay = args.pop(0) if args and not args[0].startswith("--") else ""
        request(sys.argv[2], sys.argv[3], relay, args)
    elif cmd == "response":
        response(sys.argv[2], sys.argv[3])
    elif cmd == "logout":
        logout(*sys.argv[2:])
    elif cmd == "logout-response":
        logout_response(sys.argv[2], sys.argv[3])
    elif cmd == "metadata":
        from saml2.metadata import create_metadata_string
        out = create_metadata_string(None, config=client(sys.argv[2]).config)
        print(out.decode("utf-8") if isinstance(out, bytes) else out)
    else:
        sys.exit("unknown command")
