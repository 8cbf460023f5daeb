#!/usr/bin/env bash
# The lab's network: namespaces joined by a bridge that lives in a namespace of its own.
# Subnet 10.213.77.0/24 exists only inside these namespaces; nothing routes out.
#   halab-sw: bridge br0 | halab-ceph .10 | halab-a .11 | halab-b .12 | halab-client .20 | VIP .100
set -euo pipefail
PREFIX=${HALAB_PREFIX:-halab}
SUBNET=${HALAB_SUBNET:-10.213.77}

up() {
  ip netns add "$PREFIX-sw"
  ip -n "$PREFIX-sw" link add br0 type bridge
  ip -n "$PREFIX-sw" link set br0 up
  ip -n "$PREFIX-sw" link set lo up
  local node addr
  for spec in ceph:10 a:11 b:12 client:20; do
    node=${spec%%:*}; addr=${spec##*:}
    ip netns add "$PREFIX-$node"
    ip -n "$PREFIX-sw" link add "p-$node" type veth peer name eth0 netns "$PREFIX-$node"
    ip -n "$PREFIX-sw" link set "p-$node" master br0 up
    ip -n "$PREFIX-$node" addr add "$SUBNET.$addr/24" dev eth0
    ip -n "$PREFIX-$node" link set eth0 up
    ip -n "$PREFIX-$node" link set lo up
  done
}

down() {
  for node in client b a ceph sw; do
    ip netns del "$PREFIX-$node" 2>/dev/null || true
  done
}

"$@"
