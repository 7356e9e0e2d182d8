/**
 * cloud-config for cloud-init's users module (docs.cloud-init.io, "Users and Groups"): a dedicated login user with
 * only the given SSH key, no password, and passwordless sudo, which the member layer's non-root steps need.
 */
export function loginUserCloudConfig(user: string, publicKeyLine: string): string[] {
    return [
        "users:",
        `  - name: ${user}`,
        "    gecos: etcd cluster administration",
        "    shell: /bin/bash",
        "    lock_passwd: true",
        '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
        "    ssh_authorized_keys:",
        `      - ${publicKeyLine.trim()}`,
    ];
}
