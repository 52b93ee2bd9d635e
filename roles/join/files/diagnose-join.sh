#!/bin/sh
# Read-only diagnosis of a failed kubeadm join: the kubelet and its last log
# lines, and which of kubeadm's files exist. Prints, changes nothing.
echo "kubelet: $(systemctl is-active kubelet 2>&1 | head -1)"
journalctl -u kubelet -n 15 --no-pager -o cat 2>/dev/null | sed 's/^/  kubelet log: /'
for file in /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/pki/ca.crt \
  /var/lib/kubelet/config.yaml /var/lib/kubelet/kubeadm-flags.env; do
  if [ -e "$file" ]; then echo "$file: present"; else echo "$file: absent"; fi
done
command -v kubeadm >/dev/null 2>&1 || echo "kubeadm: not installed (or not a program)"
