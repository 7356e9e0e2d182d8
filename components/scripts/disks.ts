import { shq } from "./remote";

export type DiskRole = "data" | "wal";

export interface DiskSpec {
    role: DiskRole;
    /** A stable path of the block device, such as /dev/disk/by-id/...; used only to find it, fstab names its UUID. */
    device: string;
    /** Where it is mounted: the member's data or WAL directory. */
    mountPoint: string;
}

export interface PrepareDisksOptions {
    memberName: string;
    disks: DiskSpec[];
    /** Only tests point this elsewhere. */
    fstab?: string;
}

export const DISK_FILESYSTEM = "ext4";
/** noatime: etcd never needs access times, and recording them turns reads into writes. */
export const MOUNT_OPTIONS = "noatime,nofail";

/** The label that marks a filesystem etcd-cluster made (at most 16 characters for ext4). */
export function diskLabel(role: DiskRole): string {
    return `etcd-${role}`;
}

/**
 * Formats, records in fstab and mounts the member's data and WAL devices. A device is formatted only when nothing
 * on it is recognised (no filesystem, no partition table, no other signature) and its first MiB is zero; a device
 * that holds etcd-cluster's own filesystem for this role (ext4 labelled etcd-data or etcd-wal) is used as it is;
 * anything else stops the step, naming the device and what it holds, before any device is touched. So does a device
 * of ours that fstab records at another directory (a changed dataDir or walDir).
 *
 * fstab gets `nofail`, so a missing disk does not stop the host from booting, while etcd.service's
 * RequiresMountsFor= still keeps etcd from starting on the empty directory underneath. Convergent: a second run
 * formats nothing, rewrites nothing and remounts nothing.
 */
export function renderPrepareDisksScript(o: PrepareDisksOptions): string {
    const list = (f: (d: DiskSpec) => string) => `(${o.disks.map((d) => shq(f(d))).join(" ")})`;
    return `set -euo pipefail
# A refusal inside $(...) must stop the step too.
shopt -s inherit_errexit
# Prepare the disks of etcd member ${o.memberName}.
member=${shq(o.memberName)}
fstab=${shq(o.fstab ?? "/etc/fstab")}
roles=${list((d) => d.role)}
devices=${list((d) => d.device)}
dirs=${list((d) => d.mountPoint)}
labels=${list((d) => diskLabel(d.role))}
fail() { echo "$member: $*" >&2; exit 1; }
advice="etcd-cluster never formats a device that holds anything; name another device, or erase this one yourself if its contents are not needed (for example: dd if=/dev/zero of=DEVICE bs=1M count=1)"
# What blkid finds on a device, low-level (no cache), as KEY=value lines; nothing at all when the device is blank.
probe() { # device
  local out rc=0
  out=$(blkid -p -o export "$1" 2>&1) || rc=$?
  case $rc in
    0) printf '%s\\n' "$out" ;;
    2) ;;
    *) fail "blkid cannot tell what $1 holds (exit $rc: $out); refusing to touch it" ;;
  esac
}
field() { # key < probe output
  sed -n "s/^$1=//p" | head -n 1
}
# blank | ours; anything else stops the step here, before any device is formatted.
classify() { # role device label
  local role=$1 device=$2 label=$3 dev found signatures type fslabel pttype
  [ -e "$device" ] || fail "$role device $device does not exist on this host"
  dev=$(readlink -f "$device")
  blockdev --getsize64 "$dev" >/dev/null 2>&1 || fail "$role device $device ($dev) is not a block device"
  found=$(probe "$dev") || exit 1
  if [ -z "$found" ]; then
    signatures=$(wipefs --noheadings "$dev" 2>&1) || fail "wipefs cannot read $role device $device: $signatures"
    [ -z "$signatures" ] || fail "$role device $device holds signatures blkid does not report ($signatures); $advice"
    cmp -s -n 1048576 "$dev" /dev/zero || fail "$role device $device holds data no tool recognises (its first MiB is not zero); $advice"
    echo blank
    return
  fi
  type=$(field TYPE <<<"$found")
  fslabel=$(field LABEL <<<"$found")
  pttype=$(field PTTYPE <<<"$found")
  if [ -n "$pttype" ]; then
    fail "$role device $device holds a partition table ($pttype); $advice"
  fi
  if [ "$type" != ${DISK_FILESYSTEM} ] || [ "$fslabel" != "$label" ]; then
    fail "$role device $device holds a \${type:-unknown} filesystem labelled '$fslabel', not etcd-cluster's ${DISK_FILESYSTEM} labelled '$label'; $advice"
  fi
  echo ours
}
# A device of ours recorded in fstab at another directory: the member's dataDir or walDir changed. This step runs
# before the guards, so it refuses the move itself rather than mount the member's data at a second place.
refuse_move() { # role device mount-point
  local role=$1 device=$2 dir=$3 uuid elsewhere key
  uuid=$(probe "$(readlink -f "$device")" | field UUID)
  elsewhere=$(awk -v u="UUID=$uuid" -v d="$dir" '$1 !~ /^#/ && $1 == u && $2 != d { print $2; exit }' "$fstab")
  [ -n "$elsewhere" ] || return 0
  if [ "$role" = data ]; then key=dataDir; else key=walDir; fi
  fail "etcd-cluster:$key: changing it from \\"$elsewhere\\" to \\"$dir\\" is refused: $role device $device is this member's, recorded in fstab at $elsewhere, and etcd would start without its data. Set etcd-cluster:$key back to \\"$elsewhere\\""
}
ensure_fstab() { # mount-point line
  local current tmp
  current=$(awk -v d="$1" '$1 !~ /^#/ && $2 == d' "$fstab")
  if [ "$current" = "$2" ]; then return 0; fi
  tmp=$(mktemp "$fstab.XXXXXX")
  awk -v d="$1" '$1 ~ /^#/ || $2 != d' "$fstab" > "$tmp"
  printf '%s\\n' "$2" >> "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$fstab"
  echo "$member: $fstab: $2"
  fstab_changed=1
}
ensure_mounted() { # role device mount-point
  local role=$1 device=$2 dir=$3 dev want have
  dev=$(readlink -f "$device")
  want=$(mountpoint -x "$dev")
  if have=$(mountpoint -d "$dir" 2>/dev/null); then
    [ "$have" = "$want" ] || fail "$dir is already a mount point of another device ($have, not $device at $want); refusing to mount over it"
    return 0
  fi
  mkdir -p "$dir"
  if [ -n "$(ls -A "$dir")" ]; then
    fail "$dir holds files on the disk underneath; mounting $role device $device there would hide them (an existing member's data is never moved)"
  fi
  # Refreshes blkid's cache, through which mount finds UUID= where no udev made /dev/disk/by-uuid links.
  blkid "$dev" >/dev/null
  mount "$dir"
  echo "$member: mounted $role device $device at $dir"
  changed=1
}

[ -e "$fstab" ] || touch "$fstab"
changed=0
fstab_changed=0
state=()
seen=""
for i in "\${!roles[@]}"; do
  role=\${roles[i]} device=\${devices[i]}
  dev=$(readlink -f "$device" || true)
  case " $seen " in *" $dev "*) fail "$role device $device is the same device as another of this member's disks" ;; esac
  seen="$seen $dev"
  state[i]=$(classify "$role" "$device" "\${labels[i]}") || exit 1
  if [ "\${state[i]}" = ours ]; then refuse_move "$role" "$device" "\${dirs[i]}"; fi
done
for i in "\${!roles[@]}"; do
  role=\${roles[i]} device=\${devices[i]} dir=\${dirs[i]} label=\${labels[i]}
  if [ "\${state[i]}" = blank ]; then
    mkfs.${DISK_FILESYSTEM} -q -L "$label" "$(readlink -f "$device")" </dev/null
    echo "$member: formatted blank $role device $device as ${DISK_FILESYSTEM} labelled $label"
    changed=1
  fi
  uuid=$(probe "$(readlink -f "$device")" | field UUID)
  [ -n "$uuid" ] || fail "$role device $device has no filesystem UUID after preparing it"
  ensure_fstab "$dir" "UUID=$uuid $dir ${DISK_FILESYSTEM} ${MOUNT_OPTIONS} 0 2"
done
if [ "$fstab_changed" -eq 1 ]; then systemctl daemon-reload; changed=1; fi
for i in "\${!roles[@]}"; do
  ensure_mounted "\${roles[i]}" "\${devices[i]}" "\${dirs[i]}"
done
if [ "$changed" -eq 0 ]; then echo "$member: disks are formatted, recorded in $fstab and mounted; nothing to do"; fi
`;
}
