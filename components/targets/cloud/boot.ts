/**
 * How long connections to a new cloud machine keep trying while it boots: the command provider retries a failed
 * dial up to `dialErrorLimit` times, each dial waiting at most `perDialTimeout` seconds (@pulumi/command
 * remote.ConnectionArgs), which covers an instance's launch and first boot with cloud-init.
 */
export const BOOT_DIAL = { dialErrorLimit: 60, perDialTimeout: 15 } as const;
