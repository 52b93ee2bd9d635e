#!/bin/sh
# Read-only diagnosis of a control plane that did not come up: the kubelet,
# each static pod's container and its last log lines. Prints, changes nothing.
echo "kubelet: $(systemctl is-active kubelet 2>&1 | head -1)"
journalctl -u kubelet -n 5 --no-pager -o cat 2>/dev/null | sed 's/^/  kubelet log: /'
for manifest in /etc/kubernetes/manifests/*.yaml; do
  [ -e "$manifest" ] || { echo "no static pod manifests in /etc/kubernetes/manifests"; break; }
  name=$(basename "$manifest" .yaml)
  if command -v crictl >/dev/null 2>&1; then
    id=$(crictl ps -a --name "^${name}\$" -q 2>/dev/null | head -1)
    if [ -z "$id" ]; then
      echo "$name: not running (no container)"
    else
      echo "$name: $(crictl inspect -o go-template --template '{{.status.state}}' "$id" 2>&1)"
      crictl logs --tail 5 "$id" 2>&1 | sed "s/^/  $name log: /"
    fi
  else
    if ctr -n k8s.io containers ls 2>/dev/null | grep -q "/${name}:"; then
      echo "$name: container present in containerd (k8s.io); crictl is not installed for details"
    else
      echo "$name: not running (no container in containerd's k8s.io namespace; crictl is not installed)"
    fi
  fi
done
