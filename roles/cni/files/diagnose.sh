#!/bin/sh
# Read-only diagnosis of a pod network that is not ready: nodes, the add-on's
# pods and their recent events, the last log lines of pods that are not
# running, and (Calico) the operator's own status. Prints, changes nothing.
# Usage: diagnose.sh NAMESPACE CNI
ns="$1"
cni="$2"
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@" 2>&1; }
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is not installed on this node"
  exit 0
fi
echo "nodes:"
k get nodes -o wide | sed 's/^/  /'
echo "pods in $ns:"
k -n "$ns" get pods -o wide | sed 's/^/  /'
if [ "$cni" = calico ]; then
  echo "tigerastatus:"
  k get tigerastatus | sed 's/^/  /'
  echo "pods in calico-system:"
  k -n calico-system get pods -o wide | sed 's/^/  /'
  namespaces="$ns calico-system"
else
  namespaces="$ns"
fi
for n in $namespaces; do
  echo "recent warnings in $n:"
  k -n "$n" get events --field-selector type=Warning --sort-by=.lastTimestamp | tail -n 10 | sed 's/^/  /'
  for pod in $(k -n "$n" get pods --field-selector=status.phase!=Running -o name 2>/dev/null | grep '^pod/'); do
    echo "$pod in $n (not running), last log lines:"
    k -n "$n" logs "$pod" --all-containers --tail 5 | sed 's/^/  /'
  done
done
