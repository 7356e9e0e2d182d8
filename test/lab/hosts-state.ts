// <dir>/hosts.json: what labUp brought up, so another process (a CLI `down`, a re-run) can reuse or remove it.
import { existsSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";

export interface HostState {
    name: string;
    address: string;
    netns: string;
    pid?: number;
    /** The host's SSH public key line, made when the host was created or rebuilt. */
    hostKey?: string;
    /** killed (labKill): no container, files or network namespace until labRebuild */
    lost?: boolean;
    /** has data and WAL disks (hosts-disks.ts) */
    disks?: boolean;
}

export interface LabState {
    netns: string;
    sshKey: string;
    etcdArchive: string;
    etcdVersion: string;
    hosts: HostState[];
    /** every host gets data and WAL disks */
    disks?: boolean;
}

function statePath(dir: string): string {
    return join(dir, "hosts.json");
}

export function readState(dir: string): LabState | undefined {
    const p = statePath(dir);
    return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as LabState) : undefined;
}

// Written to a temporary file and renamed, so a reader never sees half a file.
export function writeState(dir: string, state: LabState): void {
    const tmp = `${statePath(dir)}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, statePath(dir));
}

export function removeState(dir: string): void {
    rmSync(statePath(dir), { force: true });
}
