#!/usr/bin/env python3
"""Sign a SHAKEN PASSporT (RFC 8225, RFC 8588) with jwcrypto and print the Identity header
value (RFC 8224 full form): <jws>;info=<x5u>;alg=ES256;ppt=shaken

With --non-canonical the protected header and the claims are serialised with whitespace and
in reverse key order: valid JSON that a verifier must check as received, not re-serialise.
"""

import argparse
import json

from jwcrypto import jwk, jws


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--key", required=True, help="P-256 private key, PEM")
    p.add_argument("--x5u", required=True, help="certificate URL")
    p.add_argument("--orig", required=True, help="calling number")
    p.add_argument("--dest", required=True, action="append", help="called number (repeatable)")
    p.add_argument("--attest", required=True, choices=["A", "B", "C"])
    p.add_argument("--origid", required=True)
    p.add_argument("--iat", required=True, type=int)
    p.add_argument("--non-canonical", action="store_true")
    args = p.parse_args()

    with open(args.key, "rb") as f:
        key = jwk.JWK.from_pem(f.read())
    header = {"alg": "ES256", "typ": "passport", "ppt": "shaken", "x5u": args.x5u}
    claims = {
        "attest": args.attest,
        "dest": {"tn": args.dest},
        "iat": args.iat,
        "orig": {"tn": args.orig},
        "origid": args.origid,
    }
    if args.non_canonical:
        protected = json.dumps(dict(reversed(list(header.items()))), indent=2)
        payload = json.dumps(dict(reversed(list(claims.items()))), separators=(" , ", " : "))
    else:
        protected = json.dumps(header, sort_keys=True, separators=(",", ":"))
        payload = json.dumps(claims, sort_keys=True, separators=(",", ":"))

    token = jws.JWS(payload.encode("utf-8"))
    token.add_signature(key, alg="ES256", protected=protected)
    print(f"{token.serialize(compact=True)};info=<{args.x5u}>;alg=ES256;ppt=shaken")


if __name__ == "__main__":
    main()
