#!/usr/bin/env python3
"""An STI PKI issued by an independent implementation (pyca/cryptography), for the
`interop` integration test of the pki crate.

Builds, with keys generated now and never written to disk:
- a P-384 root (self-signed, ecdsa-with-SHA384), as real STI-CAs use;
- a P-256 intermediate signed by the root (SHA-384);
- a P-256 leaf with a TNAuthList (RFC 8226) holding an SPC, a range and a single TN, whose
  DER is built by hand below from the RFC's ASN.1 module (EXPLICIT tags);
- a second P-256 leaf (SPC only) that the intermediate's CRL revokes, and that CRL.

Prints one JSON object on stdout. Exits 2 with a clear message when `cryptography` is missing.
"""

import datetime
import json
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier
except ImportError as e:  # pragma: no cover - reported to the Rust test
    sys.stderr.write(
        "the interop test needs the Python 'cryptography' package "
        f"(pip install cryptography): {e}\n"
    )
    sys.exit(2)

TN_AUTH_LIST = ObjectIdentifier("1.3.6.1.5.5.7.1.26")
NOT_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)
NOW = datetime.datetime(2025, 6, 15, 12, 0, tzinfo=datetime.timezone.utc)


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def ia5(text: str) -> bytes:
    return tlv(0x16, text.encode("ascii"))


def integer(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")  # room for the sign bit
    while len(body) > 1 and body[0] == 0 and body[1] < 0x80:
        body = body[1:]
    return tlv(0x02, body)


def tn_auth_list(entries) -> bytes:
    """TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry (RFC 8226, EXPLICIT TAGS)."""
    body = b""
    for entry in entries:
        if entry["kind"] == "spc":  # spc [0] ServiceProviderCode
            body += tlv(0xA0, ia5(entry["value"]))
        elif entry["kind"] == "range":  # range [1] TelephoneNumberRange
            body += tlv(0xA1, tlv(0x30, ia5(entry["start"]) + integer(entry["count"])))
        elif entry["kind"] == "one":  # one [2] TelephoneNumber
            body += tlv(0xA2, ia5(entry["value"]))
        else:
            raise ValueError(entry)
    return tlv(0x30, body)


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pyca interop"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def issue(subject, key, issuer_name, issuer_key, *, ca, serial, hash_alg, extra=()):
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for ext in extra:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(issuer_key, hash_alg)


def pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def main() -> None:
    root_key = ec.generate_private_key(ec.SECP384R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    revoked_key = ec.generate_private_key(ec.SECP256R1())

    root_name = name("pyca SHAKEN ROOT")
    root = issue(root_name, root_key, root_name, root_key, ca=True, serial=0x0A11CE0001,
                 hash_alg=hashes.SHA384())
    ca_name = name("pyca SHAKEN CA")
    ca = issue(ca_name, ca_key, root_name, root_key, ca=True, serial=0x0A11CE0002,
               hash_alg=hashes.SHA384())

    entries = [
        {"kind": "spc", "value": "709J"},
        {"kind": "range", "start": "12155551200", "count": 100},
        {"kind": "one", "value": "12155559999"},
    ]
    list_der = tn_auth_list(entries)
    leaf = issue(name("SHAKEN 709J"), leaf_key, ca_name, ca_key, ca=False,
                 serial=0x5EED0000000001, hash_alg=hashes.SHA256(),
                 extra=[x509.UnrecognizedExtension(TN_AUTH_LIST, list_der)])

    revoked_serial = 0x5EED0000000002
    revoked = issue(name("SHAKEN 123K"), revoked_key, ca_name, ca_key, ca=False,
                    serial=revoked_serial, hash_alg=hashes.SHA256(),
                    extra=[x509.UnrecognizedExtension(
                        TN_AUTH_LIST, tn_auth_list([{"kind": "spc", "value": "123K"}]))])

    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_name)
        .last_update(NOW - datetime.timedelta(hours=1))
        .next_update(NOW + datetime.timedelta(days=7))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(revoked_serial)
            .revocation_date(NOW - datetime.timedelta(hours=2))
            .build()
        )
        .add_extension(x509.CRLNumber(7), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    json.dump(
        {
            "now": int(NOW.timestamp()),
            "root_pem": pem(root),
            "chain_pem": pem(leaf) + pem(ca),
            "revoked_chain_pem": pem(revoked) + pem(ca),
            "revoked_serial_hex": format(revoked_serial, "x"),
            "crl_pem": crl.public_bytes(serialization.Encoding.PEM).decode(),
            "tn_auth_list_der_hex": list_der.hex(),
            "entries": entries,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
