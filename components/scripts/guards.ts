import { CA_RECIPE, CURRENT_LINK, PKI, RELEASE_FILES, STATE_DIR, UNIT_FILE, walPath } from "../layout";
import { MINIMUM_BEFORE_NEXT_MINOR, SECURITY_PATCHES } from "../versions";
import { shq } from "./remote";

/**
 * Refusals before anything changes. Stack config alone cannot say what a live cluster was set up with, so each
 * member host is asked: its installed unit and environment say which data dir, WAL and etcd binary it uses, the
 * cluster says which versions it runs, and a record written when the host first trusted the CA says what that CA
 * was made from. Each refusal names the key, the old and the new value, and what to do instead.
 */

/** Where the guards look on a host; tests point them at a scratch directory. */
export interface HostPaths {
    unitFile: string;
    envFile: string;
    caFile: string;
    serverCert: string;
    serverKey: string;
    stateDir: string;
    caRecipe: string;
}

export const HOST_PATHS: HostPaths = {
    unitFile: UNIT_FILE, envFile: `${CURRENT_LINK}/${RELEASE_FILES.env}`, caFile: PKI.ca, serverCert: PKI.serverCert, serverKey: PKI.serverKey,
    stateDir: STATE_DIR, caRecipe: CA_RECIPE,
};

/** What the cluster's CA is made from: change any of it and the CA is replaced. */
export interface CaRecipe { keyAlgorithm: string; stack: string; caValidityDays: number }

export interface GuardOptions {
    memberName: string;
    dataDir: string;
    paths?: HostPaths;
}

export interface PreflightOptions extends GuardOptions {
    walDir: string;
    etcdVersion: string;
    recipe: CaRecipe;
}

export interface TrustOptions extends GuardOptions {
    recipe: CaRecipe;
    caCertificate: string;
}

function recipeLines(r: CaRecipe): string {
    return `KEY_ALGORITHM=${r.keyAlgorithm}\nSTACK=${r.stack}\nCA_VALIDITY_DAYS=${r.caValidityDays}\n`;
}

/** bash `case` arms mapping a minor line to a version from `table`. */
function caseArms(table: Record<string, string>): string {
    return Object.entries(table).map(([line, version]) => `    ${line}) echo ${version} ;;`).join("\n");
}

/** What the installed unit and environment use, and the refusal list both guards share. */
function guardLibrary(o: GuardOptions): string {
    const p = o.paths ?? HOST_PATHS;
    return `name=${shq(o.memberName)}
data_dir=${shq(o.dataDir)}
unit_file=${shq(p.unitFile)}
env_file=${shq(p.envFile)}
recipe_file=${shq(p.caRecipe)}
problems=()
refuse() { problems+=("$1"); }
# The data dir, WAL and binary the installed unit uses: what this member last ran with.
installed_data_dir() { sed -n 's/^ExecStart=.* --data-dir=\\([^ ]*\\).*$/\\1/p' "$unit_file" 2>/dev/null || true; }
# The unit starts etcd through the \`current\` link: resolved, it names the installed release (and its etcdctl).
installed_binary() {
  local bin
  bin=$(sed -n 's/^ExecStart=\\([^ ]*\\).*$/\\1/p' "$unit_file" 2>/dev/null || true)
  if [ -n "$bin" ]; then readlink -f "$bin" || true; fi
}
installed_wal() { sed -n 's/^ETCD_WAL_DIR=//p' "$env_file" 2>/dev/null || true; }
old_data_dir=$(installed_data_dir)
old_data_dir=\${old_data_dir:-$data_dir}
# A member holds data once etcd has written its member directory.
holds_data() { [ -d "$old_data_dir/member" ]; }
recorded() { sed -n "s/^$1=//p" "$recipe_file" 2>/dev/null || true; }
finish() { # what passed
  if [ "\${#problems[@]}" -gt 0 ]; then
    {
      echo "$name: refused before anything changed (\${#problems[@]} problem(s)):"
      printf '  - %s\\n' "\${problems[@]}"
    } >&2
    exit 1
  fi
  echo "$name: $1"
}
`;
}

/**
 * Runs first on every member, before any key, certificate, binary or file is made or changed: refuses a data dir
 * or WAL move on a member that holds data, a change of what the CA is made from, and etcd downgrades, skipped minor
 * versions and minor upgrades from a patch older than etcd's upgrade guide requires (compared with the versions the
 * cluster reports, and the binary this member's unit runs).
 */
export function renderPreflightScript(o: PreflightOptions): string {
    const p = o.paths ?? HOST_PATHS;
    const recipe = o.recipe;
    return `set -euo pipefail
# Preflight of etcd member ${o.memberName}: etcd ${o.etcdVersion}, data ${o.dataDir}, WAL ${walPath(o.walDir)}, CA ${recipe.keyAlgorithm} for stack ${recipe.stack}.
${guardLibrary(o)}
target=${shq(o.etcdVersion)}
wal_dir=${shq(o.walDir)}
wal=${shq(walPath(o.walDir))}
version_lt() { [ "$1" != "$2" ] && [ "$(printf '%s\\n%s\\n' "$1" "$2" | sort -V | sed -n 1p)" = "$1" ]; }
minor_of() { echo "\${1%.*}"; }
next_minor() { local major=\${1%%.*} minor=\${1#*.}; echo "$major.$((minor + 1))"; }
newest_patch() {
  case $1 in
${caseArms(SECURITY_PATCHES)}
    *) echo "the newest $1 release" ;;
  esac
}
minimum_before_next_minor() {
  case $1 in
${caseArms(MINIMUM_BEFORE_NEXT_MINOR)}
    *) echo "" ;;
  esac
}
check_version() { # version, who runs it
  local v=$1 who=$2 line step minimum
  line=$(minor_of "$v")
  if version_lt "$target" "$v"; then
    refuse "etcd-cluster:etcdVersion: changing it from $v (run by $who) to $target is refused: it is a downgrade, which etcd does not support by replacing binaries. Set etcd-cluster:etcdVersion to $v or later; to go back to an older etcd, follow etcd's downgrade guide by hand or restore a snapshot into a new cluster."
  elif [ "$line" != "$(minor_of "$target")" ] && [ "$(next_minor "$line")" != "$(minor_of "$target")" ]; then
    step=$(next_minor "$line")
    refuse "etcd-cluster:etcdVersion: changing it from $v (run by $who) to $target is refused: it skips a minor version, and etcd upgrades one minor version at a time. Set etcd-cluster:etcdVersion to $(newest_patch "$step") first and run pulumi up, then go on to $target."
  else
    minimum=$(minimum_before_next_minor "$line")
    if [ "$line" != "$(minor_of "$target")" ] && [ -n "$minimum" ] && version_lt "$v" "$minimum"; then
      refuse "etcd-cluster:etcdVersion: changing it from $v (run by $who) to $target is refused: etcd's upgrade guide requires every $line member to run $minimum or later before $(minor_of "$target"). Set etcd-cluster:etcdVersion to $(newest_patch "$line") first and run pulumi up, then go on to $target."
    fi
  fi
}
# Versions as "version<TAB>who runs it": the cluster's own report, and the binary this member's unit starts.
# One line per version, naming everyone who runs it.
running_versions() {
  local bin etcdctl version
  bin=$(installed_binary)
  if [ -n "$bin" ] && [ -x "$bin" ] && holds_data; then
    version=$("$bin" --version 2>/dev/null | sed -n 's/^etcd Version: //p') || true
    if [ -n "$version" ]; then printf '%s\\t%s\\n' "$version" "$name's installed binary"; fi
  fi
  etcdctl="$(dirname "$bin")/etcdctl"
  if [ -n "$bin" ] && [ -x "$etcdctl" ] && systemctl is-active --quiet etcd.service; then
    # Every member the cluster lists, as each one reports itself; a member that does not answer is left out here
    # and checked by its own preflight.
    "$etcdctl" --endpoints=https://127.0.0.1:2379 --cacert=${shq(p.caFile)} --cert=${shq(p.serverCert)} --key=${shq(p.serverKey)} \\
      --dial-timeout=3s --command-timeout=5s endpoint status --cluster -w fields 2>/dev/null |
      awk -F' : ' '$1 == "\\"Version\\"" { gsub(/"/, "", $2); v = $2 } $1 == "\\"Endpoint\\"" { gsub(/"/, "", $2); if (v != "") print v "\\t" $2; v = "" }' || true
  fi
}

if [ -n "$(installed_data_dir)" ] && [ "$old_data_dir" != "$data_dir" ] && holds_data; then
  refuse "etcd-cluster:dataDir: changing it from \\"$old_data_dir\\" to \\"$data_dir\\" is refused: $name holds data in $old_data_dir/member, and etcd would start without it. Set etcd-cluster:dataDir back to \\"$old_data_dir\\"; to use other storage, mount it at $old_data_dir (one member at a time), or replace members one at a time."
fi
old_wal=$(installed_wal)
if [ -n "$old_wal" ] && [ "$old_wal" != "$wal" ] && [ -n "$(ls -A "$old_wal" 2>/dev/null)" ]; then
  refuse "etcd-cluster:walDir: changing it from \\"\${old_wal%/wal}\\" to \\"$wal_dir\\" is refused: $name holds its write-ahead log in $old_wal, and etcd would start without it. Set etcd-cluster:walDir back to \\"\${old_wal%/wal}\\"; to use other storage, mount it at \${old_wal%/wal} (one member at a time), or replace members one at a time."
fi
if holds_data && [ -f "$recipe_file" ]; then
  if [ "$(recorded KEY_ALGORITHM)" != ${shq(recipe.keyAlgorithm)} ]; then
    refuse "etcd-cluster:keyAlgorithm: changing it from $(recorded KEY_ALGORITHM) to ${recipe.keyAlgorithm} is refused: it would replace the CA of this running cluster, and a member given the new CA is cut off from the others (etcd keeps the CA it started with). Set etcd-cluster:keyAlgorithm back to $(recorded KEY_ALGORITHM)."
  fi
  if [ "$(recorded STACK)" != ${shq(recipe.stack)} ]; then
    refuse "stack name: this cluster's CA was made for stack $(recorded STACK), this is stack ${recipe.stack}: a renamed or new stack makes a new CA, which would replace the CA of this running cluster. Deploy it as stack $(recorded STACK) (pulumi stack rename $(recorded STACK), or pulumi stack select $(recorded STACK))."
  fi
  if [ "$(recorded CA_VALIDITY_DAYS)" != ${shq(String(recipe.caValidityDays))} ]; then
    refuse "etcd-cluster:caValidityDays: changing it from $(recorded CA_VALIDITY_DAYS) to ${recipe.caValidityDays} is refused: it would re-issue the CA certificate of this running cluster, which is protected. Set etcd-cluster:caValidityDays back to $(recorded CA_VALIDITY_DAYS)."
  fi
fi
versions=$(running_versions | sort -u | awk -F'\\t' '{ if ($1 in who) who[$1] = who[$1] ", " $2; else who[$1] = $2 } END { for (v in who) print v "\\t" who[v] }')
while IFS=$'\\t' read -r version who; do
  if [ -n "$version" ]; then check_version "$version" "$who"; fi
done <<<"$versions"
if ! holds_data; then
  finish "holds no data yet; nothing to protect"
fi
finish "preflight passed (runs: $(cut -f1 <<<"$versions" | sort -uV | tr '\\n' ' ')target $target)"
`;
}

/**
 * Runs on every member once the CA exists and before any file is written: a member that holds data must be given
 * exactly the CA it already trusts (a different one would cut it off from its peers). On success it records what
 * the CA is made from, which the preflight compares with on later runs.
 */
export function renderTrustScript(o: TrustOptions): string {
    const p = o.paths ?? HOST_PATHS;
    const ca = o.caCertificate.replace(/\n$/, "");
    if (ca.includes("EOF_CA")) throw new Error("CA certificate contains the heredoc marker");
    return `set -euo pipefail
# Trust check of etcd member ${o.memberName}.
${guardLibrary(o)}
ca_file=${shq(p.caFile)}
state_dir=${shq(p.stateDir)}
ca=$(cat <<'EOF_CA'
${ca}
EOF_CA
)
if holds_data && [ -f "$ca_file" ] && [ "$(cat "$ca_file")" != "$ca" ]; then
  refuse "the cluster's CA: $name holds data and trusts the CA in $ca_file, but a different CA would be installed (lost or new Pulumi state, or a replaced CA). Changing the CA of a running cluster is not supported: deploy with the stack state that made this cluster's CA."
fi
if [ "\${#problems[@]}" -eq 0 ]; then
  install -d -m 700 "$state_dir"
  recipe=${shq(recipeLines(o.recipe))}
  if [ "$(cat "$recipe_file" 2>/dev/null || true)" != "$(printf '%s' "$recipe")" ]; then
    tmp=$(mktemp "$recipe_file.XXXXXX")
    printf '%s' "$recipe" > "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$recipe_file"
    echo "recorded what this cluster's CA is made from in $recipe_file"
  fi
fi
finish "trusts this cluster's CA"
`;
}
