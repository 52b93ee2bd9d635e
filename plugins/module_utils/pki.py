# SPDX-License-Identifier: Apache-2.0
# Copyright: Slipway developers
"""kubeadm-compatible PKI on ``cryptography``: keys, CAs, leaves, kubeconfigs.

Everything here is pure logic over bytes and objects: the modules decide what to
write and write it.  Profiles follow kubeadm (``pkiutil/pki_helpers.go``) as
summarised in kubernetes-bootstrap-facts.md sections 1 and 2.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import secrets
import shutil
import stat
import tempfile

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

MISSING_LIBRARY = "the Python library cryptography is required on the controller (pip install cryptography)"
ALGORITHMS = ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384")
EKUS = ("server_auth", "client_auth")
#: kubeadm's CertificateBackdate
DEFAULT_BACKDATE_MINUTES = 5


class PKIError(Exception):
    """A problem the user must fix; the message names the file and the way out."""


def run_module(module, run) -> None:
    """The end of every PKI module's main(): ``run(module)`` with the library checked,
    PKIError turned into the module's failure, and the diff dropped unless asked for."""
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=f"{MISSING_LIBRARY}: {CRYPTOGRAPHY_IMPORT_ERROR}")
    try:
        result = run(module)
    except PKIError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


def now() -> datetime.datetime:
    """The current time; one place so tests can shift it."""
    return datetime.datetime.now(datetime.UTC)


# ---------------------------------------------------------------- keys


def generate_key(algorithm: str):
    if algorithm not in ALGORITHMS:
        raise PKIError(f"key_algorithm '{algorithm}' is not one of {', '.join(ALGORITHMS)}")
    kind, size = algorithm.split("-")
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=int(size))
    return ec.generate_private_key(ec.SECP256R1() if size == "P256" else ec.SECP384R1())


def algorithm_of(key) -> str:
    """RSA-2048 ... ECDSA-P384 for a private or public key."""
    public = key.public_key() if hasattr(key, "public_key") else key
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA-{public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ECDSA-P256", "secp384r1": "ECDSA-P384"}.get(
            public.curve.name, public.curve.name
        )
    return type(public).__name__


def key_to_pem(key) -> bytes:
    """PKCS#1 ``RSA PRIVATE KEY`` or SEC1 ``EC PRIVATE KEY``, as kubeadm writes them."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_to_pem(key) -> bytes:
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_key(data: bytes, path: str):
    """Any PEM private key (PKCS#1, SEC1, PKCS#8); a clear error naming the file otherwise."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PKIError(
            f"{path} is not a readable unencrypted PEM private key ({exc}); it was left untouched. "
            "Restore it from its backup, or move it away to have a new key made"
        ) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise PKIError(f"{path} holds a {type(key).__name__}; only RSA and ECDSA keys are supported")
    return key


def load_cert(data: bytes, path: str):
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PKIError(f"{path} is not a readable PEM certificate ({exc}); it was left untouched") from None


def load_public_key(data: bytes, path: str):
    try:
        return serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise PKIError(f"{path} is not a readable PEM public key ({exc})") from None


def public_der(key) -> bytes:
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def same_public_key(a, b) -> bool:
    return public_der(a) == public_der(b)


# ---------------------------------------------------------------- certificates


def random_serial() -> int:
    """Uniform in [1, 2^63 - 1), as kubeadm: random below MaxInt64 - 1, plus one."""
    return secrets.randbelow((1 << 63) - 2) + 1


def _hash_for(signer_key):
    if isinstance(signer_key, ec.EllipticCurvePrivateKey) and signer_key.curve.name == "secp384r1":
        return hashes.SHA384()
    return hashes.SHA256()


def _name(common_name: str, organizations=()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def normalize_sans(dns_names=(), ip_addresses=()) -> tuple[list[str], list[str]]:
    """kubeadm's SAN rules: DNS names de-duplicated and sorted; IPs de-duplicated, first seen first."""
    dns = sorted({str(d) for d in dns_names if d})
    ips: list[str] = []
    for raw in ip_addresses:
        try:
            ip = str(ipaddress.ip_address(str(raw)))
        except ValueError:
            raise PKIError(f"'{raw}' in ip_addresses is not an IP address") from None
        if ip not in ips:
            ips.append(ip)
    return dns, ips


def make_ca(key, common_name: str, validity_days: int, backdate_minutes: int = DEFAULT_BACKDATE_MINUTES):
    start = now()
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(start - datetime.timedelta(minutes=backdate_minutes))
        .not_valid_after(start + datetime.timedelta(days=validity_days))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
    )
    return builder.sign(key, _hash_for(key))


def make_leaf(
    ca_cert,
    ca_key,
    key,
    profile: dict,
    *,
    validity_days: int,
    backdate_minutes: int = DEFAULT_BACKDATE_MINUTES,
    not_before_from_ca: bool = False,
):
    """A leaf signed by the CA.  ``not_before_from_ca``: kubeconfig client certs start at the CA's start."""
    start = now()
    not_before = (
        ca_cert.not_valid_before_utc
        if not_before_from_ca
        else start - datetime.timedelta(minutes=backdate_minutes)
    )
    dns, ips = normalize_sans(profile.get("dns_names") or (), profile.get("ip_addresses") or ())
    ekus = [
        {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH}[e]
        for e in profile.get("extended_key_usages") or ()
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(profile["common_name"], profile.get("organizations") or ()))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(not_before)
        .not_valid_after(start + datetime.timedelta(days=validity_days))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    try:
        skid = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(skid), critical=False
        )
    except x509.ExtensionNotFound:
        pass
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, _hash_for(ca_key))


def cert_to_pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


# ---------------------------------------------------------------- inspection


def subject_of(cert) -> dict:
    cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return {"common_name": cn[0] if cn else "", "organizations": orgs}


def sans_of(cert) -> tuple[list[str], list[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return list(ext.get_values_for_type(x509.DNSName)), [
        str(i) for i in ext.get_values_for_type(x509.IPAddress)
    ]


def ekus_of(cert) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return []
    names = {ExtendedKeyUsageOID.SERVER_AUTH: "server_auth", ExtendedKeyUsageOID.CLIENT_AUTH: "client_auth"}
    return sorted(names.get(oid, oid.dotted_string) for oid in ext)


def is_ca(cert) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def signed_by(cert, ca_cert) -> bool:
    if cert.issuer != ca_cert.subject:
        return False
    public = ca_cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
            )
        else:
            public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    except InvalidSignature:
        return False
    return True


def fingerprint(cert) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def discovery_hash(cert) -> str:
    """kubeadm's --discovery-token-ca-cert-hash: sha256 of the DER SubjectPublicKeyInfo."""
    return "sha256:" + hashlib.sha256(public_der(cert.public_key())).hexdigest()


def summary(cert) -> dict:
    """What results and diffs show of a certificate: never key material."""
    dns, ips = sans_of(cert)
    subject = subject_of(cert)
    return {
        "subject": subject,
        "dns_names": dns,
        "ip_addresses": ips,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "serial": str(cert.serial_number),
        "fingerprint_sha256": fingerprint(cert),
        "issuer": cert.issuer.rfc4514_string(),
    }


def leaf_problems(cert, key, ca_cert, profile: dict, renewal_days: int) -> list[str]:
    """Why an existing leaf no longer fits; empty when it does."""
    reasons = []
    if key is not None and not same_public_key(cert.public_key(), key):
        reasons.append("certificate does not match its key")
    want_subject = {
        "common_name": profile["common_name"],
        "organizations": sorted(profile.get("organizations") or []),
    }
    have = subject_of(cert)
    if {"common_name": have["common_name"], "organizations": sorted(have["organizations"])} != want_subject:
        reasons.append(f"subject differs (have CN={have['common_name']} O={have['organizations']})")
    want_dns, want_ips = normalize_sans(profile.get("dns_names") or (), profile.get("ip_addresses") or ())
    have_dns, have_ips = sans_of(cert)
    if sorted(have_dns) != sorted(want_dns) or sorted(have_ips) != sorted(want_ips):
        reasons.append("SANs differ")
    if ekus_of(cert) != sorted(profile.get("extended_key_usages") or []):
        reasons.append("extended key usages differ")
    if not signed_by(cert, ca_cert):
        reasons.append("not signed by the current CA")
    left = cert.not_valid_after_utc - now()
    if left < datetime.timedelta(days=renewal_days):
        reasons.append(
            f"expires {cert.not_valid_after_utc.isoformat()}, within the {renewal_days}-day renewal window"
        )
    return reasons


# ---------------------------------------------------------------- kubeconfig


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_document(
    *, cluster_name: str, server: str, user: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes
):
    context = f"{user}@{cluster_name}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"certificate-authority-data": b64(ca_pem), "server": server}}
        ],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": context,
        "preferences": {},
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)},
            }
        ],
    }


def parse_kubeconfig(doc, path: str) -> dict:
    """The parts of a kubeadm-style kubeconfig we manage; PKIError when it is not one."""
    try:
        context_name = doc["current-context"]
        context = next(c["context"] for c in doc["contexts"] if c["name"] == context_name)
        cluster = next(c for c in doc["clusters"] if c["name"] == context["cluster"])
        user = next(u for u in doc["users"] if u["name"] == context["user"])
        return {
            "cluster_name": cluster["name"],
            "server": cluster["cluster"]["server"],
            "user": user["name"],
            "context": context_name,
            "ca_pem": base64.b64decode(cluster["cluster"]["certificate-authority-data"]),
            "cert_pem": base64.b64decode(user["user"]["client-certificate-data"]),
            "key_pem": base64.b64decode(user["user"]["client-key-data"]),
        }
    except (KeyError, TypeError, StopIteration, ValueError) as exc:
        raise PKIError(
            f"{path} is not a kubeconfig with embedded credentials as Slipway writes them ({exc!r}); "
            "it was left untouched. Move it away to have it rewritten"
        ) from None


# ---------------------------------------------------------------- files (used by the modules)


def read_or_none(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PKIError(f"cannot read {path}: {exc}") from None


def write_atomic(module, path: str, data: bytes, mode: int) -> None:
    """Write through a 0600 temporary file in the same directory, then rename over ``path``."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".slipway-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    # atomic_move keeps the mode of a file it replaces; ours is the contract
    os.chmod(path, mode)


def load_ca(cert_path: str):
    data = read_or_none(cert_path)
    if data is None:
        raise PKIError(f"the CA certificate {cert_path} does not exist; create it first (module pki_ca)")
    cert = load_cert(data, cert_path)
    if not is_ca(cert):
        raise PKIError(f"{cert_path} is not a CA certificate")
    return cert


def backup_name(path: str) -> str:
    """``<file>.<UTC timestamp>.bak``; a counter is added if that name is taken."""
    stamp = now().strftime("%Y%m%dT%H%M%S.%fZ")
    candidate = f"{path}.{stamp}.bak"
    counter = 1
    while os.path.exists(candidate):
        candidate = f"{path}.{stamp}-{counter}.bak"
        counter += 1
    return candidate


def backup(module, path: str, enabled: bool, backups: list) -> None:
    """Copy ``path`` to ``<file>.<timestamp>.bak`` with the same mode (keys stay 0600)."""
    if not (enabled and os.path.exists(path)):
        return
    target = backup_name(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
        shutil.copyfileobj(src, out)
    os.chmod(target, mode)
    backups.append(target)
