#!/usr/bin/env python3
"""What `podman kube play` (podman 4.3) needs done around halyard's rendered manifests.

  podman_kube.py prepare RENDERED.yaml PLAY.yaml   Secrets -> podman secrets; PLAY.yaml is the
                                                   rest, without container ports
  podman_kube.py clean RENDERED.yaml               removes those secrets and the volumes that
                                                   kube play made for ConfigMaps and claims

Why (each seen with podman 4.3.1 here):
  - kube play stores a Secret object as YAML but its own envFrom/secretKeyRef reads the podman
    secret as JSON of the Secret's `data` map: it fails with "secret X is not valid JSON".
    So each Secret is created here as that JSON, and left out of PLAY.yaml.
  - kube play publishes every containerPort on the host, so the second replica of a Deployment
    fails with "bind: address already in use". Pods reach each other by pod name on the
    network, and the test reaches gate by its pod's address, so the ports are dropped.
  - kube play does not expand $(VAR) references in command/args (Kubernetes does, from the
    container's environment): expanded here from the container's env and envFrom Secrets.
  - kube play makes an emptyDir a named volume called by the volume's name, shared by every
    pod that has a volume of that name (all services' "data", both clouddriver replicas'
    state directory, which clouddriver refuses), owned by whichever mounted it first. The
    emptyDir volumes and their mounts are dropped: each container then writes to the image's
    own directory in its writable layer, private to the replica as an emptyDir is.
  - kube play runs a tcpSocket probe as `nc -z -v <host> <port>` with the host empty when the
    probe names none (Kubernetes means the pod's address): given "localhost" here.
  - Namespace is not a kind kube play knows: left out.
  - An env var from the pod's IP (fieldRef status.podIP, clouddriver's POD_IP) is dropped:
    clouddriver then advertises its host name, which kube play sets to the pod's name, and
    pod names resolve on the play's network.
The Services stay in halyard's manifests for real clusters; the render's --pod-addresses wires
the services to pod names instead (podman does not implement Services).
"""
import base64
import json
import re
import subprocess
import sys

import yaml


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def podman(*args, stdin=None, check=True):
    return subprocess.run(["podman", *args], input=stdin, capture_output=True, check=check)


def expand_references(container, secret_data):
    env = {}
    for source in container.get("envFrom", []):
        ref = source.get("secretRef", {}).get("name")
        for key, value in secret_data.get(ref, {}).items():
            env[key] = base64.b64decode(value).decode()
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]

    def expand(text):
        return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                      lambda m: env.get(m.group(1), m.group(0)), text)

    for field in ("command", "args"):
        if field in container:
            container[field] = [expand(a) for a in container[field]]


def prepare(rendered, play):
    kept = []
    secrets = 0
    docs = load(rendered)
    secret_data = {d["metadata"]["name"]: d.get("data", {})
                   for d in docs if d.get("kind") == "Secret"}
    for doc in docs:
        kind = doc.get("kind")
        if kind == "Secret":
            name = doc["metadata"]["name"]
            podman("secret", "rm", name, check=False)
            podman("secret", "create", name, "-",
                   stdin=json.dumps(doc.get("data", {})).encode())
            secrets += 1
            continue
        if kind == "Namespace":
            continue
        if kind == "Deployment":
            pod = doc["spec"]["template"]["spec"]
            scratch = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
            pod["volumes"] = [v for v in pod.get("volumes", []) if v["name"] not in scratch]
            for container in pod.get("containers", []):
                container.pop("ports", None)
                container["env"] = [
                    e for e in container.get("env", [])
                    if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                    != "status.podIP"]
                if not container["env"]:
                    container.pop("env")
                expand_references(container, secret_data)
                for probe in ("livenessProbe", "readinessProbe"):
                    tcp = container.get(probe, {}).get("tcpSocket")
                    if tcp is not None and not tcp.get("host"):
                        tcp["host"] = "localhost"
                container["volumeMounts"] = [m for m in container.get("volumeMounts", [])
                                             if m["name"] not in scratch]
        kept.append(doc)
    with open(play, "w") as f:
        yaml.safe_dump_all(kept, f, sort_keys=False)
    print(f"podman_kube: {secrets} secrets created, {len(kept)} objects in {play}")


def clean(rendered):
    for doc in load(rendered):
        kind, name = doc.get("kind"), doc["metadata"]["name"]
        if kind == "Secret":
            podman("secret", "rm", name, check=False)
        elif kind in ("ConfigMap", "PersistentVolumeClaim"):
            podman("volume", "rm", "-f", name, check=False)



def main():
    if len(sys.argv) == 4 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "clean":
        clean(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
