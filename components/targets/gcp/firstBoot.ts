import { loginUserCloudConfig } from "../cloud/loginUser";

/**
 * What a member's first boot configures besides its host key, as cloud-config in the instance's `user-data`
 * metadata (cloud-init's GCE datasource reads it): the dedicated login user with the login key, and Google's guest
 * agent told not to make host keys of its own (guest-agent README, "Configuration": InstanceSetup set_host_keys),
 * which it would otherwise do on the first boot, replacing the program's key.
 */
export function firstBootCloudConfig(user: string, loginPublicKey: string): string[] {
    return [
        ...loginUserCloudConfig(user, loginPublicKey),
        "write_files:",
        "  - path: /etc/default/instance_configs.cfg",
        '    permissions: "0644"',
        "    content: |",
        "      [InstanceSetup]",
        "      set_host_keys = false",
    ];
}

/**
 * Instance metadata beside `user-data`: project-wide SSH keys do not open the members, and OS Login stays off, so
 * the login user's key is the only way in (Compute Engine "Manage SSH keys in metadata", "About OS Login"; an
 * organization policy that enforces OS Login overrides the latter).
 */
export const ACCESS_METADATA = { "block-project-ssh-keys": "TRUE", "enable-oslogin": "FALSE" } as const;
