import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

/**
 * A TCP port machines must reach on any address, and why (the etcd layer says which: a release mirror when etcd is
 * downloaded). Clouds open egress to these ports and no others; they need not know what is behind them.
 */
export interface OutboundPort { port: number; purpose: string }

/** What a target (hosts, aws, gcp) hands to the etcd layer: a reachable Linux machine. Nothing etcd-specific. */
export interface Machine {
    /** The member name this machine carries. */
    name: string;
    /** The address members and clients use; it is put in the member's certificates. */
    address: pulumi.Input<string>;
    /**
     * DNS names that resolve to `address`, lower case: advertised to clients beside the address and put in the
     * member's server certificate. etcd listens on the address alone, and peers always use it.
     */
    dnsNames?: pulumi.Input<string[]>;
    /** Login user; a non-root user needs passwordless sudo. */
    user: string;
    connection: command.types.input.remote.ConnectionArgs;
    /** Changes when the machine is replaced, so every remote step runs again on the new one. */
    identity: pulumi.Input<string>;
    /** Block device for etcd's data directory (a stable path such as /dev/disk/by-id/...); formatted only when blank. */
    dataDevice?: pulumi.Input<string>;
    /** Block device for etcd's WAL directory, ideally the fastest disk. */
    walDevice?: pulumi.Input<string>;
    /** Resources that must exist before anything runs on the machine (instance, disk attachments, firewall). */
    dependsOn?: pulumi.Resource[];
    /**
     * For machines the engine itself replaces or restarts (cloud instances): the cluster calls this once per machine,
     * in restart order, before building its member, with the previous member's last step (undefined for the first).
     * The target makes its own changes to the machine wait for that step, so they roll one member at a time.
     */
    holdChangesUntil?: (previous: pulumi.Resource | undefined) => void;
}
