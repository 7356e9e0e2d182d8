import { ConfigReader } from "../config/reader";

/** The `gcp` target: refused until it can create machines, disks and firewalls (see README, "Targets"). */
export function readGcpTarget(r: ConfigReader): undefined {
    r.bad("target", "gcp", 'target "gcp" is not available yet in this version; allowed: hosts');
    return undefined;
}
