#!/usr/bin/env bash
# A real single-node Ceph (mon + memstore OSD + mgr, cephx on) inside the lab's ceph namespace.
# Every daemon runs in the foreground under our own PID (recorded in $DIR/pids), never by name.
#   ceph.sh up DIR MON_IP POOL IMAGE SIZE_MB CLIENT   → prints nothing; writes DIR/ceph.conf,
#       DIR/client.admin.keyring and DIR/client.CLIENT.key
#   ceph.sh down DIR
set -euo pipefail
NS=${HALAB_PREFIX:-halab}-ceph

in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }

up() {
  local dir=$1 mon_ip=$2 pool=$3 image=$4 size=$5 client=$6
  mkdir -p "$dir"/{mon,osd,mgr,run,log,pids}
  chmod 700 "$dir"
  local fsid conf=$dir/ceph.conf admin=(-c "$dir/ceph.conf" -n client.admin -k "$dir/client.admin.keyring")
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$conf" <<CONF
[global]
fsid = $fsid
mon initial members = lab
mon host = $mon_ip
public network = ${mon_ip%.*}.0/24
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 2
paxos propose interval = 0.1
osd objectstore = memstore
memstore page set = true
memstore device bytes = 2147483648
run dir = $dir/run
admin socket = $dir/run/\$name.\$pid.asok
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
mgr data = $dir/mgr/\$cluster-\$id
[client]
rbd cache = false
log file = /dev/null
CONF
  ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$dir/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  chmod 600 "$dir"/*.keyring
  ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/client.admin.keyring" >/dev/null
  monmaptool --create --add lab "$mon_ip" --fsid "$fsid" "$dir/monmap" >/dev/null
  in_ns ceph-mon -c "$conf" --mkfs -i lab --monmap "$dir/monmap" --keyring "$dir/mon.keyring" 2>/dev/null
  nsenter --net="/run/netns/$NS" -- ceph-mon -c "$conf" -i lab -f >/dev/null 2>&1 &
  echo $! > "$dir/pids/mon.pid"

  local osd_uuid secret id
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  secret=$(ceph-authtool --gen-print-key)
  id=$(echo "{\"cephx_secret\": \"$secret\"}" | in_ns timeout 60 ceph "${admin[@]}" osd new "$osd_uuid" -i -)
  mkdir -p "$dir/osd/ceph-$id"
  ceph-authtool --create-keyring "$dir/osd/ceph-$id/keyring" --name "osd.$id" --add-key "$secret" >/dev/null
  in_ns ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  nsenter --net="/run/netns/$NS" -- ceph-osd -c "$conf" -i "$id" -f >/dev/null 2>&1 &
  echo $! > "$dir/pids/osd.pid"

  mkdir -p "$dir/mgr/ceph-lab"
  in_ns timeout 30 ceph "${admin[@]}" auth get-or-create mgr.lab mon 'allow profile mgr' osd 'allow *' mds 'allow *' > "$dir/mgr/ceph-lab/keyring"
  nsenter --net="/run/netns/$NS" -- ceph-mgr -c "$conf" -i lab -f >/dev/null 2>&1 &
  echo $! > "$dir/pids/mgr.pid"

  in_ns timeout 60 ceph "${admin[@]}" osd pool create "$pool" 8 >/dev/null 2>&1
  in_ns timeout 60 rbd "${admin[@]}" pool init "$pool"
  in_ns timeout 60 rbd "${admin[@]}" create "$pool/$image" --size "$size" --image-feature layering
  # the client user with exactly the caps docs/operations.md asks of production (rbd profile, blocklist commands)
  in_ns timeout 30 ceph "${admin[@]}" auth get-or-create "client.$client" \
    mon 'profile rbd, allow command "osd blocklist", allow command "osd blocklist ls"' \
    osd "profile rbd pool=$pool" mgr "profile rbd pool=$pool" >/dev/null
  in_ns timeout 30 ceph "${admin[@]}" auth get-key "client.$client" > "$dir/client.$client.key"
  chmod 600 "$dir/client.$client.key"
}

down() {
  local dir=$1 pid
  for name in mgr osd mon; do
    [ -f "$dir/pids/$name.pid" ] || continue
    pid=$(cat "$dir/pids/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for name in mgr osd mon; do
    [ -f "$dir/pids/$name.pid" ] || continue
    pid=$(cat "$dir/pids/$name.pid")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/pids/$name.pid"
  done
}

"$@"
