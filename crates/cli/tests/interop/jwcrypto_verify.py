#!/usr/bin/env python3
"""Verify the PASSporT of an Identity header value with jwcrypto, using the public key of a
certificate, and print {"header": ..., "claims": ..., "params": [...]} as JSON.

Exit status: 0 when the ES256 signature verifies, 1 when it does not.
"""

import argparse
import json
import sys

from jwcrypto import jwk, jws


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cert", required=True, help="the signer's certificate, PEM")
    p.add_argument("--identity", required=True, help="the Identity header value")
    args = p.parse_args()

    token, *params = [part.strip() for part in args.identity.split(";")]
    with open(args.cert, "rb") as f:
        key = jwk.JWK.from_pem(f.read())

    passport = jws.JWS()
    passport.allowed_algs = ["ES256"]
    passport.deserialize(token)
    try:
        passport.verify(key)
    except jws.InvalidJWSSignature as e:
        print(f"signature does not verify: {e}", file=sys.stderr)
        return 1
    claims = json.loads(passport.payload)
    print(json.dumps({"header": passport.jose_header, "claims": claims, "params": params}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
