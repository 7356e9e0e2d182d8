/**
 * Wraps a bash script as the text of a remote command. The SSH server hands the text to the login shell, so the
 * wrapper is plain POSIX sh: it saves the script to a temporary file and runs it with bash (through sudo for a
 * non-root login). The script stays verbatim in the command text, so `pulumi preview --diff` shows real changes,
 * and standard input is passed through to it untouched (that is where secrets travel).
 */
export function remoteCommand(script: string, opts: { user: string; label: string }): string {
    const marker = "ETCD_CLUSTER_SCRIPT";
    if (script.split("\n").includes(marker)) throw new Error(`script ${opts.label} contains the heredoc marker`);
    const runner = opts.user === "root" ? "bash" : "sudo -n bash";
    return [
        `# etcd-cluster: ${opts.label}`,
        `script=$(mktemp) || exit 1`,
        `trap 'rm -f "$script"' EXIT`,
        `cat > "$script" <<'${marker}'`,
        script.replace(/\n$/, ""),
        marker,
        `${runner} "$script"`,
        "",
    ].join("\n");
}

/** Single-quotes a value for bash. */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
