#!/usr/bin/env python3
"""Sign a SHAKEN PASSporT (RFC 8225, RFC 8588), or with --ppt rcd a Rich Call Data PASSporT
(RFC 9795: rcd with nam and icn, rcdi with the icon's digest computed here with hashlib,
crn), with jwcrypto and print the Identity header value (RFC 8224 full form):
<jws>;info=<x5u>;alg=ES256;ppt=<ppt>

With --non-canonical the protected header and the claims are serialised with whitespace and
in reverse key order: valid JSON that a verifier must check as received, not re-serialise.
"""

import argparse
import base64
import hashlib
import json

from jwcrypto import jwk, jws


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--key", required=True, help="P-256 private key, PEM")
    p.add_argument("--x5u", required=True, help="certificate URL")
    p.add_argument("--orig", required=True, help="calling number")
    p.add_argument("--dest", required=True, action="append", help="called number (repeatable)")
    p.add_argument("--attest", choices=["A", "B", "C"], help="shaken only")
    p.add_argument("--origid", help="shaken only")
    p.add_argument("--iat", required=True, type=int)
    p.add_argument("--non-canonical", action="store_true")
    p.add_argument("--ppt", default="shaken", choices=["shaken", "rcd"])
    p.add_argument("--nam", help="rcd: the caller's name")
    p.add_argument("--icn", help="rcd: the icon (logo) URL")
    p.add_argument("--icn-file", help="rcd: the icon's bytes, for its rcdi digest")
    p.add_argument("--crn", help="rcd: the call reason")
    args = p.parse_args()
    if args.ppt == "shaken" and (args.attest is None or args.origid is None):
        p.error("a shaken PASSporT needs --attest and --origid")

    with open(args.key, "rb") as f:
        key = jwk.JWK.from_pem(f.read())
    header = {"alg": "ES256", "typ": "passport", "ppt": args.ppt, "x5u": args.x5u}
    claims = {"dest": {"tn": args.dest}, "iat": args.iat, "orig": {"tn": args.orig}}
    if args.ppt == "shaken":
        claims["attest"] = args.attest
        claims["origid"] = args.origid
    else:
        rcd = {}
        if args.nam is not None:
            rcd["nam"] = args.nam
        if args.icn is not None:
            rcd["icn"] = args.icn
        claims["rcd"] = rcd
        if args.icn_file is not None:
            with open(args.icn_file, "rb") as f:
                digest = base64.b64encode(hashlib.sha256(f.read()).digest()).decode("ascii")
            claims["rcdi"] = {"/icn": f"sha256-{digest}"}
        if args.crn is not None:
            claims["crn"] = args.crn
    if args.non_canonical:
        protected = json.dumps(dict(reversed(list(header.items()))), indent=2)
        payload = json.dumps(dict(reversed(list(claims.items()))), separators=(" , ", " : "))
    else:
        protected = json.dumps(header, sort_keys=True, separators=(",", ":"))
        payload = json.dumps(claims, sort_keys=True, separators=(",", ":"))

    token = jws.JWS(payload.encode("utf-8"))
    token.add_signature(key, alg="ES256", protected=protected)
    print(f"{token.serialize(compact=True)};info=<{args.x5u}>;alg=ES256;ppt={args.ppt}")


if __name__ == "__main__":
    main()
