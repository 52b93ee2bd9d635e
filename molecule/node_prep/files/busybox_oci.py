#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write an OCI image archive holding Debian's static busybox, for `ctr image import`.

No registry is reachable from the lab, so the verify step runs a container from
this image: one layer with /bin/busybox, named docker.io/slipway/busybox:verify.
"""

import hashlib
import io
import json
import sys
import tarfile

NAME = "docker.io/slipway/busybox:verify"


def blob(tar: tarfile.TarFile, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}", len(data)


def main(out: str) -> None:
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w") as layer:
        info = layer.gettarinfo("/bin/busybox", arcname="bin/busybox")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        with open("/bin/busybox", "rb") as handle:
            layer.addfile(info, handle)
    layer_data = layer_buf.getvalue()
    with tarfile.open(out, "w") as tar:
        layer_digest, layer_size = blob(tar, layer_data)
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/busybox", "sh"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }
        config_digest, config_size = blob(tar, json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config_size,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": layer_size,
                }
            ],
        }
        manifest_digest, manifest_size = blob(tar, json.dumps(manifest).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_digest,
                    "size": manifest_size,
                    "annotations": {
                        "io.containerd.image.name": NAME,
                        "org.opencontainers.image.ref.name": "verify",
                    },
                }
            ],
        }
        for name, data in (
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", json.dumps(index).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


if __name__ == "__main__":
    main(sys.argv[1])
