"""Image archives for the tests, made here from nothing: OCI image layouts and
docker-save archives, well-formed or broken on purpose. No network, no Docker.

A layer is a list of entries, each a dict:
    {"path": "etc/x", "data": b"..."}                      regular file
    {"path": "etc", "type": "dir"}
    {"path": "bin/sh", "type": "symlink", "link": "busybox"}
    {"path": "bin/ln", "type": "hardlink", "link": "bin/busybox"}
    {"path": "dev/null", "type": "chr"}                    device node
    {"path": "etc/.wh.x", "data": b""}                     a whiteout is just a name
optional: "mode" (0o644 / 0o755), "uid", "gid", "size" (a lying header size).
"""
import gzip
import hashlib
import io
import json
import tarfile
import zlib

MTIME = 1700000000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tar_bytes(entries, fmt=tarfile.USTAR_FORMAT):
    """A tar of ENTRIES (see above), deterministic."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["path"])
            ti.mtime = MTIME
            ti.uid = e.get("uid", 0)
            ti.gid = e.get("gid", 0)
            kind = e.get("type", "file")
            data = None
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = e.get("mode", 0o755)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["link"]
                ti.mode = 0o777
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e["link"]
                ti.mode = e.get("mode", 0o644)
            elif kind in ("chr", "blk"):
                ti.type = tarfile.CHRTYPE if kind == "chr" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = 1, 3
                ti.mode = 0o666
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
                ti.mode = 0o644
            else:
                data = e.get("data", b"")
                ti.size = len(data)
                ti.mode = e.get("mode", 0o644)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, compresslevel=6, mtime=0)


def gzip_bomb(zero_bytes):
    """A gzip stream of a tar holding one file of ZERO_BYTES zeros, made
    without holding them in memory (the ratio is about 1000:1)."""
    hdr = tarfile.TarInfo("zeros")
    hdr.size = zero_bytes
    hdr.mtime = MTIME
    head = hdr.tobuf(format=tarfile.USTAR_FORMAT)
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [co.compress(head)]
    chunk = bytes(1 << 20)
    left = zero_bytes + (-zero_bytes % 512) + 1024
    while left > 0:
        n = min(left, len(chunk))
        out.append(co.compress(chunk[:n]))
        left -= n
    out.append(co.flush())
    return b"".join(out)


def config_json(diff_ids, cmd=None, entrypoint=None, env=None, workdir=None, user=None, extra=None):
    c = {"architecture": "amd64", "os": "linux",
         "config": {},
         "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if cmd is not None:
        c["config"]["Cmd"] = cmd
    if entrypoint is not None:
        c["config"]["Entrypoint"] = entrypoint
    if env is not None:
        c["config"]["Env"] = env
    if workdir is not None:
        c["config"]["WorkingDir"] = workdir
    if user is not None:
        c["config"]["User"] = user
    if extra:
        c.update(extra)
    return json.dumps(c, sort_keys=True).encode()


def outer_tar(members):
    """The outer archive: MEMBERS is a list of (name, bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        dirs = set()
        for name, data in members:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d and d not in dirs and not d.startswith(".."):
                    dirs.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type = tarfile.DIRTYPE
                    ti.mode = 0o755
                    ti.mtime = MTIME
                    t.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = MTIME
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def oci(layers, ref="test/app:1.0", compress=None, cmd=None, entrypoint=None, env=None, workdir=None,
        user=None, tamper=None):
    """An OCI image layout archive of LAYERS (lists of entries, or raw tar
    bytes). COMPRESS: per-layer list of True/False (default: gzip all but the
    last). TAMPER: None, "layer" (a layer blob's bytes changed after hashing),
    "size" (a descriptor's size wrong), "media" (a zstd layer type),
    "nested" (the manifest behind a nested index). Returns (bytes, digest)."""
    blobs = {}
    descs, diff_ids = [], []
    if compress is None:
        compress = [True] * (len(layers) - 1) + [False]
    for i, layer in enumerate(layers):
        raw = layer if isinstance(layer, bytes) else tar_bytes(layer)
        diff_ids.append(sha256(raw))
        blob = gz(raw) if compress[i] else raw
        d = sha256(blob)
        blobs[d] = blob
        descs.append({"mediaType": LAYER_GZIP if compress[i] else LAYER_TAR, "digest": d, "size": len(blob)})
    cfg = config_json(diff_ids, cmd=cmd, entrypoint=entrypoint, env=env, workdir=workdir, user=user)
    blobs[sha256(cfg)] = cfg
    if tamper == "media":
        descs[0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+zstd"
    if tamper == "size":
        descs[0]["size"] += 1
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": OCI_CONFIG, "digest": sha256(cfg), "size": len(cfg)},
                      "layers": descs}, sort_keys=True).encode()
    mdig = sha256(man)
    blobs[mdig] = man
    mdesc = {"mediaType": OCI_MANIFEST, "digest": mdig, "size": len(man),
             "platform": {"architecture": "amd64", "os": "linux"}}
    if ref:
        mdesc["annotations"] = {"org.opencontainers.image.ref.name": ref}
    if tamper == "nested":
        nested = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [mdesc]},
                            sort_keys=True).encode()
        blobs[sha256(nested)] = nested
        top = {"mediaType": OCI_INDEX, "digest": sha256(nested), "size": len(nested)}
        if ref:
            top["annotations"] = {"org.opencontainers.image.ref.name": ref}
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]}
    else:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [mdesc]}
    if tamper == "layer":
        d = descs[0]["digest"]
        b = bytearray(blobs[d])
        b[len(b) // 2] ^= 0x01
        blobs[d] = bytes(b)
    members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
               ("index.json", json.dumps(index, sort_keys=True).encode())]
    for d, b in sorted(blobs.items()):
        members.append(("blobs/sha256/" + d[7:], b))
    return outer_tar(members), mdig


def docker_save(layers, tags=("test/legacy:1.0",), cmd=None, entrypoint=None, env=None, tamper=None):
    """A docker-save archive (the pre-25 layout: ID.json, ID/layer.tar,
    manifest.json, repositories). Returns (bytes, image digest = config's)."""
    diff_ids, paths, members = [], [], []
    for layer in layers:
        raw = layer if isinstance(layer, bytes) else tar_bytes(layer)
        d = sha256(raw)
        diff_ids.append(d)
        p = d[7:] + "/layer.tar"
        paths.append(p)
        if tamper == "layer" and len(paths) == 1:
            b = bytearray(raw)
            b[600] ^= 0x01
            raw = bytes(b)
        members.append((d[7:] + "/VERSION", b"1.0"))
        members.append((p, raw))
    cfg = config_json(diff_ids, cmd=cmd, entrypoint=entrypoint, env=env)
    cid = sha256(cfg)
    members.insert(0, (cid[7:] + ".json", cfg))
    manifest = [{"Config": cid[7:] + ".json", "RepoTags": list(tags), "Layers": paths}]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    return outer_tar(members), cid


def busybox_layers(busybox_path, marker):
    """Two layers making a runnable image: busybox in the first, and in the
    second a script, a whiteout of a file of the first, and a marker file."""
    with open(busybox_path, "rb") as f:
        bb = f.read()
    base = [{"path": "bin", "type": "dir"},
            {"path": "bin/busybox", "data": bb, "mode": 0o755},
            {"path": "bin/sh", "type": "symlink", "link": "busybox"},
            {"path": "bin/cat", "type": "symlink", "link": "busybox"},
            {"path": "bin/sleep", "type": "symlink", "link": "busybox"},
            {"path": "bin/id", "type": "symlink", "link": "busybox"},
            {"path": "bin/ls", "type": "symlink", "link": "busybox"},
            {"path": "etc", "type": "dir"},
            {"path": "etc/passwd", "data": b"root:x:0:0:root:/:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n"},
            {"path": "etc/group", "data": b"root:x:0:\napp:x:1000:\n"},
            {"path": "etc/gone", "data": b"removed by the next layer\n"},
            {"path": "bin/busybox-again", "type": "hardlink", "link": "bin/busybox"},
            {"path": "bin/suid", "data": b"not really\n", "mode": 0o4755},
            {"path": "run", "type": "dir"},
            {"path": "run/fifo", "type": "fifo"}]
    top = [{"path": "etc/.wh.gone", "data": b""},
           {"path": "etc/marker", "data": marker.encode() + b"\n"},
           {"path": "srv", "type": "dir", "uid": 1000, "gid": 1000},
           {"path": "srv/run.sh", "data": b"#!/bin/sh\necho \"$GREETING from $(cat /etc/marker) as $(id -u)\"\n"
            b"ls /etc/gone 2>/dev/null && echo WHITEOUT-FAILED\nexec sleep 100000\n", "mode": 0o755}]
    return [base, top]
