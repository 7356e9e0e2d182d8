import { ConfigReader } from "../config/reader";

/** The `aws` target: refused until it can create machines, disks and firewalls (see README, "Targets"). */
export function readAwsTarget(r: ConfigReader): undefined {
    r.bad("target", "aws", 'target "aws" is not available yet in this version; allowed: hosts');
    return undefined;
}
