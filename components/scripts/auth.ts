import { AuthPlan, MANAGED_ROLE_PREFIX, prefixRangeEnd } from "../clients";
import { healthLibrary, HealthOptions } from "./health";
import { shq } from "./remote";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * Converges etcd's users, roles and authentication to `plan`, from one member, as that member's own user (which the
 * plan gives the root role; before authentication is on, etcd lets any client certificate do this). Order keeps a
 * running cluster serving: users and roles first, then `auth enable`, then gateway passwords (etcd checks them only
 * once authentication is on). Users and roles this program made for clients or members that are gone are deleted: a
 * removed client's certificate stays valid until it expires, and its user is what lets it in. Gateway passwords
 * arrive on standard input (`user password` per line), never in this text. Changes nothing when all is in place.
 */
export function renderAuthScript(o: HealthOptions & { plan: AuthPlan }): string {
    const gatewayUsers = o.plan.users.filter((u) => u.password);
    const roles = o.plan.roles.map((r) => `ensure_role ${shq(r.name)}${r.prefix ? ` ${shq(r.prefix)} ${shq(b64(r.prefix))} ${shq(b64(prefixRangeEnd(r.prefix)))}` : ""}`);
    const users = o.plan.users.map((u) => `ensure_user ${shq(u.name)} ${u.password ? 1 : 0} ${u.roles.map(shq).join(" ")}`);
    const prefixOf = (user: string) => o.plan.roles.find((r) => o.plan.users.find((u) => u.name === user)!.roles.includes(r.name) && r.prefix)!.prefix!;
    return `set -euo pipefail
${healthLibrary({ ...o, subject: "users, roles and authentication" })}
managed_users=(${o.plan.users.map((u) => shq(u.name)).join(" ")})
managed_roles=(${o.plan.roles.map((r) => shq(r.name)).join(" ")})
declare -A passwords=()
while read -r user password; do passwords[$user]=$password; done
gateway_users=(${gatewayUsers.map((u) => shq(u.name)).join(" ")})
for user in "\${gateway_users[@]}"; do
  if [ -z "\${passwords[$user]:-}" ]; then echo "no password for gateway user $user on standard input" >&2; exit 1; fi
done
changed=0
note() { echo "$*"; changed=1; }
a() { ctl "$desired" "$@"; }
listed() { # word list...
  local word=$1
  shift
  for item in "$@"; do if [ "$item" = "$word" ]; then return 0; fi; done
  return 1
}
ensure_role() { # role [prefix prefix-base64 range-end-base64]: read and write on exactly that prefix, or nothing
  local role=$1 prefix=\${2:-} key=\${3:-} end=\${4:-} found=0 perm type pkey pend
  if ! a role get "$role" >/dev/null 2>&1; then a role add "$role" >/dev/null; note "created role $role"; fi
  local json perms
  json=$(a role get "$role" -w json)
  perms=$(grep -o '{[^{}]*"key":"[^"]*"[^{}]*}' <<<"$json" || true)
  while read -r perm; do
    [ -n "$perm" ] || continue
    type=$(sed -n 's/.*"permType":\\([0-9]\\).*/\\1/p' <<<"$perm")
    pkey=$(sed -n 's/.*"key":"\\([^"]*\\)".*/\\1/p' <<<"$perm")
    pend=$(sed -n 's/.*"range_end":"\\([^"]*\\)".*/\\1/p' <<<"$perm")
    if [ -n "$prefix" ] && [ "\${type:-0}" = 2 ] && [ "$pkey" = "$key" ] && [ "$pend" = "$end" ]; then found=1; continue; fi
    # Granted by hand or for an earlier prefix: revoked once the wanted permission is in place.
    if [ "$pend" = "AA==" ]; then revoke+=("$role" "$(base64 -d <<<"$pkey")" --from-key)
    else revoke+=("$role" "$(base64 -d <<<"$pkey")" "$(base64 -d <<<"$pend")"); fi
  done <<<"$perms"
  if [ -n "$prefix" ] && [ "$found" = 0 ]; then
    a role grant-permission --prefix=true "$role" readwrite "$prefix" >/dev/null
    note "role $role may read and write $prefix"
  fi
}
revoke=()
revoke_stale_permissions() {
  local i=0
  while [ "$i" -lt "\${#revoke[@]}" ]; do
    a role revoke-permission "\${revoke[i]}" "\${revoke[i+1]}" "\${revoke[i+2]}" >/dev/null
    note "revoked \${revoke[i+1]} from role \${revoke[i]}"
    i=$((i + 3))
  done
}
roles_of() { # user: prints its roles on one line
  local out
  out=$(a user get "$1")
  sed -n 's/^Roles: *//p' <<<"$out"
}
ensure_user() { # user has-password roles...: exactly these roles
  local user=$1 has_password=$2 role line current
  shift 2
  if ! a user get "$user" >/dev/null 2>&1; then
    if [ "$has_password" = 1 ]; then printf '%s\\n' "\${passwords[$user]}" | a user add "$user" --interactive=false >/dev/null
    else a user add "$user" --no-password >/dev/null; fi
    note "created user $user"
  fi
  line=$(roles_of "$user")
  read -r -a current <<<"$line"
  for role in "$@"; do
    if ! listed "$role" "\${current[@]}"; then a user grant-role "$user" "$role" >/dev/null; note "granted role $role to $user"; fi
  done
  for role in "\${current[@]}"; do
    if ! listed "$role" "$@"; then a user revoke-role "$user" "$role" >/dev/null; note "revoked role $role from $user"; fi
  done
}
check_password() { # user prefix: the password from standard input logs in, or is set
  local user=$1 prefix=$2
  if ETCDCTL_USER=$user ETCDCTL_PASSWORD=\${passwords[$user]} a get "$prefix" --prefix --keys-only --limit=1 >/dev/null 2>&1; then return 0; fi
  printf '%s\\n' "\${passwords[$user]}" | a user passwd "$user" --interactive=false >/dev/null
  note "set the password of $user"
}

if ! wait_for 60 cluster_problems; then
  echo "refusing to change authentication: the cluster is not healthy: $(cluster_problems || true)" >&2
  exit 1
fi
${roles.join("\n")}
${users.join("\n")}
revoke_stale_permissions
users=$(a user list)
for user in $users; do
  if listed "$user" "\${managed_users[@]}"; then continue; fi
  line=$(roles_of "$user")
  read -r -a current <<<"$line"
  for role in "\${current[@]}"; do
    if [[ $role == ${shq(MANAGED_ROLE_PREFIX)}* ]]; then a user delete "$user" >/dev/null; note "deleted user $user (no longer a member or client)"; break; fi
  done
done
roles=$(a role list)
for role in $roles; do
  if [[ $role == ${shq(MANAGED_ROLE_PREFIX)}* ]] && ! listed "$role" "\${managed_roles[@]}"; then a role delete "$role" >/dev/null; note "deleted role $role"; fi
done
status=$(a auth status)
if grep -q '^Authentication Status: false' <<<"$status"; then a auth enable >/dev/null; note "enabled authentication"; fi
${gatewayUsers.map((u) => `check_password ${shq(u.name)} ${shq(prefixOf(u.name))}`).join("\n")}
if [ "$changed" = 0 ]; then echo "authentication is on; users and roles are up to date"; fi
`;
}
