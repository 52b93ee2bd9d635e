# SPDX-License-Identifier: Apache-2.0
"""Air-gap: list every artifact a cluster needs, and build a bundle to carry.

    artifacts [list] [--kubernetes-version X] [--format table|json]   the list
    artifacts bundle DEST [--from DIR] [--no-download] [--tarball FILE]

The list comes from ``plugins/module_utils/artifacts.py``, the function the
roles' ``slipway.cluster.artifact_*`` filters call, so it names what the roles
fetch.  ``bundle`` lays the artifacts out as docs/airgap.md describes, taking
each from ``--from DIR`` (searched by file name) or, without it, downloading it
from upstream and checking it against upstream's checksum file.  It writes
``manifest.json`` (name, version, sha256 and size of every file, and what the
sha256 was checked against), ``SHA256SUMS``, the checksum files the roles read
(``binaries/<upstream checksum file>``, ``images/SHA256SUMS``) and a tarball.
When anything is missing it names each artifact and writes nothing.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ansible_collections.slipway.cluster.plugins.module_utils import artifacts as lib
from ansible_collections.slipway.cluster.plugins.module_utils import versions

DOWNLOAD_TIMEOUT = 30


class BundleError(Exception):
    """The bundle cannot be made; the message names every artifact concerned."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def listing(args: argparse.Namespace) -> list[dict]:
    return lib.artifacts(
        args.kubernetes_version,
        arch=args.arch,
        image_repository=args.image_repository,
        cni=args.cni,
        endpoint_mode=args.endpoint_mode,
        package_base_url=args.package_base_url,
        containerd={"containerd": args.containerd_version, "runc": args.runc_version},
        cni_plugins_version=args.cni_plugins_version,
    )


def table(entries: list[dict]) -> str:
    rows = [("kind", "name", "version", "bundle file", "checksum", "used by")]
    for e in entries:
        rows.append(
            (
                e["kind"],
                e.get("ref", e["name"]),
                e["version"],
                e["file"],
                e.get("checksum_url") or e.get("checksum_source", ""),
                e["used_by"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )


# ------------------------------------------------------------------ finding artifacts


def find(source: Path, relative: str, version: str) -> Path | None:
    """``source/<relative>``, else the one file of that name below ``source`` (the one under a
    directory naming ``version`` when there are several)."""
    exact = source / relative
    if exact.is_file():
        return exact
    name = Path(relative).name
    matches = sorted(p for p in source.rglob(name) if p.is_file())
    if len(matches) > 1:
        matches = [p for p in matches if version in str(p.relative_to(source).parent)] or matches
    return matches[0] if len(matches) == 1 else None


def find_repo(source: Path, minor: str) -> Path | None:
    """A pkgs.k8s.io-shaped ``.../v<minor>/deb/`` directory with a Packages index."""
    for candidate in (
        source / "packages" / f"v{minor}" / "deb",
        source / "core:" / "stable:" / f"v{minor}" / "deb",
    ):
        if (candidate / "Packages").is_file():
            return candidate
    matches = [p.parent for p in source.rglob("Packages") if p.parent.match(f"v{minor}/deb")]
    return matches[0] if len(matches) == 1 else None


def packages_index(repo: Path) -> dict[tuple[str, str], dict]:
    stanzas = {}
    for block in (repo / "Packages").read_text().split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if ":" in line and not line.startswith(" "):
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        if "Package" in fields:
            stanzas[(fields["Package"], fields.get("Version", ""))] = fields
    return stanzas


def download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, open(dest, "wb") as out:  # noqa: S310 - http(s) URLs of the version map
        shutil.copyfileobj(response, out)


def upstream_checksum(entry: dict, near: Path | None, work: Path) -> tuple[str | None, str]:
    """The sha256 upstream publishes for this file: from the checksum file beside it in the source
    directory, else downloaded; (None, why) when neither can be had."""
    if "checksum_file" not in entry:
        return None, entry.get("checksum_source", "none published")
    name = Path(entry["checksum_file"]).name
    text = None
    where = ""
    if near is not None and (near.parent / name).is_file():
        text, where = (near.parent / name).read_text(), f"{name} beside it in the source directory"
    else:
        try:
            download(entry["checksum_url"], work / name)
            text, where = (work / name).read_text(), entry["checksum_url"]
        except (OSError, urllib.error.URLError, ValueError) as exc:
            return None, f"not verified: {entry['checksum_url']} unreachable ({exc.__class__.__name__})"
    try:
        return lib.checksum_of(text, Path(entry["file"]).name), where
    except lib.ArtifactError as exc:
        raise BundleError(f"{entry['file']}: {where}: {exc}") from None


# ------------------------------------------------------------------ the bundle


def build(entries: list[dict], dest: Path, source: Path | None, meta: dict, fetch: bool = True) -> dict:
    """Lay every artifact out under ``dest``; returns the manifest.  Files not found under
    ``source`` are downloaded when ``fetch`` (images and packages cannot be).  Raises BundleError
    naming every missing artifact, and leaves no ``dest`` behind then."""
    missing: list[str] = []
    plan: list[tuple[dict, Path | None]] = []
    repo = None
    minor = versions.minor_of(meta["kubernetes_version"])
    packages = [e for e in entries if e["kind"] == "package"]
    if packages and source is not None:
        repo = find_repo(source, minor)
        if repo is None:
            missing.append(f"packages: no v{minor}/deb/ repository with a Packages index under {source}")
        else:
            index = packages_index(repo)
            missing += [
                f"package {e['name']} {e['version']} (not in {repo / 'Packages'})"
                for e in packages
                if (e["name"], e["version"]) not in index
            ]
    elif packages:
        missing.append(f"packages: mirror {packages[0]['url']} (apt-mirror, aptly), then pass --from")
    for entry in entries:
        if entry["kind"] == "package":
            continue
        found = find(source, entry["file"], entry["version"]) if source is not None else None
        if found is None and (entry["kind"] == "image" or not fetch):
            hint = (
                f"podman pull {entry['ref']} && podman save --format oci-archive -o "
                f"{Path(entry['file']).name} {entry['ref']}"
                if entry["kind"] == "image"
                else entry["url"]
            )
            missing.append(
                f"{entry['kind']} {entry['name']} {entry['version']}: {entry['file']} (from {hint})"
            )
        plan.append((entry, found))
    if missing:
        raise BundleError("missing artifacts:\n  " + "\n  ".join(missing))
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:
        return _write(plan, dest, repo, packages, meta=meta, minor=minor)
    except BundleError:
        shutil.rmtree(dest)
        raise


def _write(
    plan: list, dest: Path, repo: Path | None, packages: list[dict], *, meta: dict, minor: str
) -> dict:
    missing: list[str] = []
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for entry, found in plan:
            target = dest / entry["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if found is None:
                try:
                    download(entry["url"], target)
                except (OSError, urllib.error.URLError, ValueError) as exc:
                    missing.append(
                        f"{entry['kind']} {entry['name']} {entry['version']}: {entry['url']} ({exc})"
                    )
                    continue
            else:
                shutil.copyfile(found, target)
            digest = sha256_file(target)
            expected, against = upstream_checksum(entry, found, work)
            if expected is not None and expected != digest:
                raise BundleError(f"{entry['file']}: sha256 {digest} differs from {expected} ({against})")
            target.chmod(0o755 if entry["kind"] == "binary" else 0o644)
            records.append(
                {
                    **{k: entry[k] for k in ("kind", "name", "version", "file", "url", "used_by")},
                    **({"ref": entry["ref"], "nodes": entry["nodes"]} if "ref" in entry else {}),
                    "sha256": digest,
                    "size": target.stat().st_size,
                    "verified_against": against if expected is not None else f"nothing ({against})",
                }
            )
            if "checksum_file" in entry:
                (dest / entry["checksum_file"]).write_text(f"{digest}  {Path(entry['file']).name}\n")
    if missing:
        raise BundleError("missing artifacts:\n  " + "\n  ".join(missing))
    if repo is not None:
        records += copy_repo(repo, dest / "packages" / f"v{minor}" / "deb", packages)
    images = sorted((r for r in records if r["kind"] == "image"), key=lambda r: r["file"])
    if images:
        (dest / "images" / "SHA256SUMS").write_text(
            "".join(f"{r['sha256']}  {Path(r['file']).name}\n" for r in images)
        )
    manifest = {**meta, "artifacts": records}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    sums = sorted(
        (str(p.relative_to(dest)), sha256_file(p))
        for p in dest.rglob("*")
        if p.is_file() and p.parent != dest
    )
    sums.append(("manifest.json", sha256_file(dest / "manifest.json")))
    (dest / "SHA256SUMS").write_text("".join(f"{digest}  {name}\n" for name, digest in sums))
    return manifest


def copy_repo(repo: Path, target: Path, packages: list[dict]) -> list[dict]:
    """The whole repository directory (its signed index stays valid); a record per pinned package."""
    shutil.copytree(repo, target)
    index = packages_index(target)
    records = []
    for entry in packages:
        fields = index[(entry["name"], entry["version"])]
        deb = target / fields["Filename"]
        digest = sha256_file(deb)
        if fields.get("SHA256") and fields["SHA256"] != digest:
            raise BundleError(f"{deb}: sha256 {digest} differs from the Packages index ({fields['SHA256']})")
        records.append(
            {
                "kind": "package",
                "name": entry["name"],
                "version": entry["version"],
                "file": str(deb.relative_to(target.parents[2])),
                "url": entry["url"],
                "used_by": entry["used_by"],
                "sha256": digest,
                "size": deb.stat().st_size,
                "verified_against": "SHA256 of the repository's Packages index",
            }
        )
    return records


def tarball(dest: Path, out: Path) -> None:
    """A reproducible tar.gz of the bundle: sorted names, root owner, mtime 0."""
    with (
        open(out, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for path in sorted(dest.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=f"{dest.name}/{path.relative_to(dest)}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if path.is_file():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)


# ------------------------------------------------------------------ command line


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubernetes-version", default=versions.DEFAULT_KUBERNETES_VERSION)
    parser.add_argument("--arch", default="amd64", choices=lib.ARCHES)
    parser.add_argument("--image-repository", default=versions.DEFAULT_IMAGE_REPOSITORY)
    parser.add_argument("--cni", default="cilium", choices=lib.CNIS)
    parser.add_argument("--endpoint-mode", default="node", choices=lib.ENDPOINT_MODES)
    parser.add_argument("--package-base-url", default="https://pkgs.k8s.io/core:/stable:")
    parser.add_argument("--containerd-version", default=versions.COMPONENTS["containerd"])
    parser.add_argument("--runc-version", default=versions.COMPONENTS["runc"])
    parser.add_argument("--cni-plugins-version", default=versions.COMPONENTS["cni_plugins"])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["list"]:
        argv = argv[1:]
    if argv[:1] == ["bundle"]:
        parser = argparse.ArgumentParser(
            prog="slipway artifacts bundle", description=__doc__.split("\n\n")[0]
        )
        parser.add_argument("dest", type=Path, help="directory to write (replaced)")
        parser.add_argument("--from", dest="source", type=Path, help="take artifacts from this directory")
        parser.add_argument("--tarball", type=Path, help="default: DEST.tar.gz")
        parser.add_argument(
            "--no-download", action="store_true", help="take everything from --from, download nothing"
        )
        _options(parser)
        args = parser.parse_args(argv[1:])
    else:
        parser = argparse.ArgumentParser(prog="slipway artifacts list", description=__doc__.split("\n\n")[0])
        parser.add_argument("--format", choices=("table", "json"), default="table")
        _options(parser)
        args = parser.parse_args(argv)
    try:
        entries = listing(args)
    except (versions.VersionError, lib.ArtifactError) as exc:
        print(f"slipway artifacts: {exc}", file=sys.stderr)
        return 2
    if argv[:1] != ["bundle"]:
        print(json.dumps(entries, indent=2) if args.format == "json" else table(entries))
        return 0
    if args.source is not None and not args.source.is_dir():
        print(f"slipway artifacts bundle: --from {args.source} is not a directory", file=sys.stderr)
        return 2
    meta = {
        "kubernetes_version": versions.release(args.kubernetes_version)["version"],
        "arch": args.arch,
        "image_repository": args.image_repository,
        "cni": args.cni,
        "endpoint_mode": args.endpoint_mode,
    }
    dest = args.dest.resolve()
    try:
        source = args.source.resolve() if args.source else None
        manifest = build(entries, dest, source, meta, fetch=not args.no_download)
    except BundleError as exc:
        print(f"slipway artifacts bundle: {exc}", file=sys.stderr)
        return 1
    out = args.tarball or dest.with_name(dest.name + ".tar.gz")
    tarball(dest, out)
    print(
        f"slipway: bundle of {len(manifest['artifacts'])} artifacts in {dest} and {out} ({sha256_file(out)})"
    )
    return 0
