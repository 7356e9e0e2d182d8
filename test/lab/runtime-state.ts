// The lab runtime's memory between runs: the keys and certificates it generated, each under its resource's type and
// name with a hash of the inputs it was made from. A run with the same inputs gets the same bytes back, so nothing
// changes on the hosts; changed inputs make a new one. The file holds private keys: mode 600, in a directory that is
// created mode 700.

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface StoredResource {
    inputsHash: string;
    id: string;
    outputs: Record<string, unknown>;
}

interface StateFile {
    resources: Record<string, StoredResource>;
}

export class LabState {
    private writing: Promise<void> = Promise.resolve();

    private constructor(
        private readonly path: string,
        private readonly file: StateFile,
    ) {}

    static async load(path: string): Promise<LabState> {
        let text: string;
        try {
            text = await readFile(path, "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return new LabState(path, { resources: {} });
            throw err;
        }
        const file = JSON.parse(text) as StateFile;
        if (typeof file?.resources !== "object" || file.resources === null) {
            throw new Error(`${path} is not a lab state file`);
        }
        return new LabState(path, file);
    }

    get(key: string): StoredResource | undefined {
        return this.file.resources[key];
    }

    // Saved at once, so keys made before a later failure are reused by the next run.
    put(key: string, resource: StoredResource): Promise<void> {
        this.file.resources[key] = resource;
        // Writes are chained so concurrent puts never interleave; a failed write does not block later ones.
        this.writing = this.writing.catch(() => undefined).then(() => this.write());
        return this.writing;
    }

    private async write(): Promise<void> {
        await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
        const temporary = `${this.path}.${process.pid}.tmp`;
        await writeFile(temporary, JSON.stringify(this.file, null, 2) + "\n", { mode: 0o600 });
        await rename(temporary, this.path); // atomic: an interrupted run never leaves half a state file
    }
}
